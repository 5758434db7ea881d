// The packet tests' frames: dataplane/frame_builder.h, whose names the
// tests use unqualified.
#ifndef XLB_TESTS_PACKET_PACKET_BUILDER_H_
#define XLB_TESTS_PACKET_PACKET_BUILDER_H_

#include "dataplane/frame_builder.h"

namespace xlb::testing {
using namespace ::xlb::dataplane::frames;  // NOLINT: the tests' vocabulary
}  // namespace xlb::testing

#endif  // XLB_TESTS_PACKET_PACKET_BUILDER_H_
