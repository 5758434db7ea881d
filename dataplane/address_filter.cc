#include "dataplane/address_filter.h"

namespace xlb::dataplane {

absl::Status AddressFilter::Adopt() {
  for (uint32_t w = 0; w < XLB_FILTER_WORDS; ++w)
    if (auto found = map_->Lookup(&w, &words_[w]); !found.ok()) return found.status();
  return absl::OkStatus();
}

absl::Status AddressFilter::Sync(const std::set<model::IpAddress>& addresses) {
  std::vector<Word> want(XLB_FILTER_WORDS, 0);
  for (const model::IpAddress& a : addresses) {
    uint32_t bit = xlb_filter_bit(a.words().data());
    want[bit / 64] |= 1ull << (bit % 64);
  }
  for (uint32_t w = 0; w < XLB_FILTER_WORDS; ++w) {
    if (want[w] == words_[w]) continue;
    if (auto st = map_->Update(&w, &want[w]); !st.ok()) return st;
    words_[w] = want[w];
  }
  return absl::OkStatus();
}

}  // namespace xlb::dataplane
