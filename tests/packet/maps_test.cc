// The typed map handles (dataplane/maps.h) against the loaded program: each
// holds the map of its name, whose key and value sizes are its types'.
#include <bpf/bpf.h>

#include <string>

#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

TEST_F(PacketTest, EachMapHandleHoldsItsMapWithItsTypesSizes) {
  size_t seen = 0;
  auto st = prog_->maps().ForEach([&](const char* name, const auto& map) {
    using Handle = std::remove_cvref_t<decltype(map)>;
    bpf_map_info info = {};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(map.fd(), &info, &len) != 0)
      return absl::ErrnoToStatus(errno, std::string("inspect map ") + name);
    EXPECT_EQ(std::string(info.name), name);
    EXPECT_EQ(map.name(), name);
    if constexpr (std::is_same_v<Handle, dataplane::RingMap>) {
      EXPECT_EQ(info.type, BPF_MAP_TYPE_RINGBUF) << name;
      EXPECT_EQ(info.key_size, 0u) << name;
    } else {
      EXPECT_EQ(info.key_size, sizeof(typename Handle::Key)) << name;
      EXPECT_EQ(info.value_size, Handle::kValueSize) << name;
    }
    ++seen;
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(seen, std::size(dataplane::Maps::kNames));
}

}  // namespace
}  // namespace xlb::testing
