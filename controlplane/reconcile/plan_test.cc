// Reconcile diffing: the smallest list of changes, nothing for equal state.
#include "controlplane/reconcile/plan.h"

#include "gtest/gtest.h"

namespace xlb::reconcile {
namespace {

using model::ParseRealSpec;
using model::ParseServiceKey;

dataplane::ServiceState Current(const std::string& key, std::vector<std::string> reals) {
  dataplane::ServiceState s;
  s.service.key = *ParseServiceKey(key);
  for (const auto& r : reals) {
    dataplane::RealState state;
    state.spec = *ParseRealSpec(r);
    s.reals.push_back(state);
  }
  return s;
}

DesiredService Desired(const std::string& key, std::vector<std::string> reals) {
  DesiredService d;
  d.service.key = *ParseServiceKey(key);
  for (const auto& r : reals) d.reals.push_back(*ParseRealSpec(r));
  return d;
}

std::vector<std::string> Describe(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(reconcile::Describe(c));
  return out;
}

TEST(PlanTest, EqualStateNeedsNoChange) {
  EXPECT_TRUE(Plan({Current("192.0.2.1:80/tcp", {"203.0.113.1@5", "203.0.113.2"})},
                   {Desired("192.0.2.1:80/tcp", {"203.0.113.2@1", "203.0.113.1:80@5"})})
                  .empty());
  EXPECT_TRUE(Plan({}, {}).empty());
}

// The record of health is part of a real: a drained real (weight 0) that
// goes down changes no weight, but must be written.
TEST(PlanTest, HealthDownIsAChangeEvenAtWeightZero) {
  auto current = Current("192.0.2.1:80/tcp", {"203.0.113.1@0", "203.0.113.2"});
  auto desired = Desired("192.0.2.1:80/tcp", {"203.0.113.1@0", "203.0.113.2"});
  EXPECT_TRUE(Plan({current}, {desired}).empty());
  desired.reals[0].health_down = true;
  EXPECT_EQ(Describe(Plan({current}, {desired})),
            (std::vector<std::string>{"set the 2 reals of 192.0.2.1:80/tcp"}));
  current.reals[0].spec.health_down = true;
  EXPECT_TRUE(Plan({current}, {desired}).empty());
}

TEST(PlanTest, NewServiceIsDefinedThenGetsItsReals) {
  EXPECT_EQ(Describe(Plan({}, {Desired("192.0.2.1:80/tcp", {"203.0.113.1"})})),
            (std::vector<std::string>{"define service 192.0.2.1:80/tcp",
                                      "set the 1 reals of 192.0.2.1:80/tcp"}));
}

TEST(PlanTest, RemovedServiceIsDeletedFirst) {
  auto changes = Plan({Current("192.0.2.1:80/tcp", {}), Current("192.0.2.2:80/tcp", {})},
                      {Desired("192.0.2.2:80/tcp", {}), Desired("192.0.2.3:80/tcp", {})});
  EXPECT_EQ(Describe(changes),
            (std::vector<std::string>{"delete service 192.0.2.1:80/tcp",
                                      "define service 192.0.2.3:80/tcp",
                                      "set the 0 reals of 192.0.2.3:80/tcp"}));
}

TEST(PlanTest, OnlyTheServiceWhoseWeightChangedIsTouched) {
  auto changes = Plan({Current("192.0.2.1:80/tcp", {"203.0.113.1", "203.0.113.2"}),
                       Current("192.0.2.2:80/tcp", {"203.0.113.1"})},
                      {Desired("192.0.2.1:80/tcp", {"203.0.113.1@0", "203.0.113.2"}),
                       Desired("192.0.2.2:80/tcp", {"203.0.113.1"})});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::kSetReals);
  EXPECT_EQ(changes[0].key.ToString(), "192.0.2.1:80/tcp");
}

TEST(PlanTest, OptionChangeRedefinesWithoutTouchingReals) {
  DesiredService d = Desired("192.0.2.1:80/tcp", {"203.0.113.1"});
  d.service.options.scheduler = model::Scheduler::kSourceHash;
  auto changes = Plan({Current("192.0.2.1:80/tcp", {"203.0.113.1"})}, {d});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::kUpsertService);
}

TEST(PlanTest, RealPortIsPartOfItsIdentity) {
  auto changes = Plan({Current("192.0.2.1:80/tcp", {"203.0.113.1:8080"})},
                      {Desired("192.0.2.1:80/tcp", {"203.0.113.1:8081"})});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::kSetReals);
}

}  // namespace
}  // namespace xlb::reconcile
