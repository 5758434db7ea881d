// Map access is typed by XLB_MAPS (bpf/maps.h): an access with another key
// or value type does not compile. The static_asserts below are the test (they
// run at build time); each negative one held with the untyped void* API.
#include "dataplane/maps.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xlb::dataplane {
namespace {

template <typename M, typename K, typename V>
concept CanLookup = requires(const M& m, const K* key, V* value) { m.Lookup(key, value); };
template <typename M, typename K, typename V>
concept CanUpdate = requires(const M& m, const K* key, const V* value) { m.Update(key, value); };
template <typename M, typename K>
concept CanDelete = requires(const M& m, const K* key) { m.Delete(key); };
template <typename M, typename K>
concept CanSum = requires(const M& m, const K& key) { m.Sum(key); };

// Each map's own key and value compile...
static_assert(CanLookup<decltype(Maps::services), xlb_service_key, xlb_service>);
static_assert(CanUpdate<decltype(Maps::reals), __u32, xlb_real>);
static_assert(CanLookup<decltype(Maps::conn_table), xlb_flow_key, xlb_conn>);
static_assert(CanLookup<decltype(Maps::nat_replies), xlb_flow_key, xlb_nat_reply>);
static_assert(CanDelete<decltype(Maps::nat_reals), xlb_endpoint_key>);
static_assert(CanUpdate<decltype(Maps::maglev_tables), __u32, int>);  // an inner map's fd
static_assert(CanLookup<decltype(Maps::maglev_tables), __u32, __u32>);  // read as its id
static_assert(std::is_same_v<decltype(std::declval<const Maps&>().service_stats.Sum(__u32{})),
                             absl::StatusOr<xlb_counters>>);

// ...another struct does not,
static_assert(!CanLookup<decltype(Maps::services), xlb_vip_key, xlb_service>);
static_assert(!CanLookup<decltype(Maps::services), xlb_service_key, xlb_vip>);
static_assert(!CanLookup<decltype(Maps::conn_table), xlb_flow_key, xlb_nat_reply>);
static_assert(!CanUpdate<decltype(Maps::persist_table), xlb_flow_key, xlb_persist>);
static_assert(!CanDelete<decltype(Maps::vips), xlb_service_key>);
// nor an untyped pointer,
static_assert(!CanLookup<decltype(Maps::services), void, void>);
static_assert(!CanUpdate<decltype(Maps::reals), __u32, void>);
// nor an integer of another width or sign,
static_assert(!CanUpdate<decltype(Maps::reals), __u64, xlb_real>);
static_assert(!CanUpdate<decltype(Maps::service_gens), __u32, int>);
static_assert(!CanLookup<decltype(Maps::vip_filter), __u32, __u32>);
static_assert(!CanSum<decltype(Maps::real_stats), __u64>);
static_assert(!CanSum<decltype(Maps::real_stats), xlb_service_key>);
// nor a map of maps' inner id where it takes an fd;
static_assert(!CanUpdate<decltype(Maps::maglev_tables), __u32, __u32>);
// and a per-CPU map has no single-value Lookup or Update (too small a buffer).
static_assert(!CanLookup<decltype(Maps::global_stats), __u32, __u64>);
static_assert(!CanUpdate<decltype(Maps::service_stats), __u32, xlb_counters>);

TEST(MapsTest, ForEachVisitsEveryMapUnderItsPinNameAndStopsAtAnError) {
  Maps maps;
  std::vector<std::string> visited;
  auto st = maps.ForEach([&](const char* name, MapFd&) {
    visited.push_back(name);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(visited, std::vector<std::string>(std::begin(Maps::kNames), std::end(Maps::kNames)));
  EXPECT_EQ(visited.front(), "services");
  EXPECT_EQ(visited.back(), "flow_events");  // the ring (MAP_RING) too

  visited.clear();
  st = maps.ForEach([&](const char* name, MapFd&) {
    visited.push_back(name);
    return visited.size() == 2 ? absl::NotFoundError(name) : absl::OkStatus();
  });
  EXPECT_EQ(st, absl::NotFoundError(Maps::kNames[1]));
  EXPECT_EQ(visited.size(), 2u);
}

}  // namespace
}  // namespace xlb::dataplane
