// Keeps one of the program's address filters (see XLB_FILTER_BITS in
// bpf/xlb_abi.h) equal to a set of addresses, writing only changed words.
#ifndef XLB_DATAPLANE_ADDRESS_FILTER_H_
#define XLB_DATAPLANE_ADDRESS_FILTER_H_

#include <cstdint>
#include <set>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "model/address.h"
#include "dataplane/maps.h"

namespace xlb::dataplane {

class AddressFilter {
 public:
  // vip_filter or nat_real_filter: words of filter bits.
  using FilterMap = decltype(Maps::vip_filter);
  static_assert(std::is_same_v<FilterMap, decltype(Maps::nat_real_filter)>);

  explicit AddressFilter(const FilterMap* map) : map_(map) {}
  // Reads what the map holds now (after a restart).
  absl::Status Adopt();
  // Makes the filter pass exactly these addresses (and their false positives).
  absl::Status Sync(const std::set<model::IpAddress>& addresses);

 private:
  using Word = FilterMap::Value;
  const FilterMap* map_;
  std::vector<Word> words_ = std::vector<Word>(XLB_FILTER_WORDS, 0);
};

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_ADDRESS_FILTER_H_
