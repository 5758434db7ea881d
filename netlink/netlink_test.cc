// The pure part of the netlink layer: building requests, reading answers'
// attributes, and how an answer's end and errors are told (no socket).
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "netlink/addresses.h"
#include "netlink/links.h"
#include "netlink/message.h"
#include "netlink/neighbours.h"
#include "netlink/routes.h"
#include "netlink/socket.h"

namespace xlb::netlink {
namespace {

using model::IpAddress;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

TEST(Message, IsARequestAskingForAnAckWithItsHeaderAndAttributes) {
  Message m(RTM_NEWNEIGH, NLM_F_CREATE);
  auto* ndm = m.PutHeader<ndmsg>();
  ndm->ndm_ifindex = 7;
  m.PutAddress(NDA_DST, Ip("198.51.100.7"));
  m.PutU8(NDA_PROTOCOL, 177);
  EXPECT_EQ(m.nlh()->nlmsg_type, RTM_NEWNEIGH);
  EXPECT_EQ(m.nlh()->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
  EXPECT_EQ(m.header<ndmsg>()->ndm_ifindex, 7);
  const Attributes attrs(m.nlh(), sizeof(ndmsg));
  EXPECT_EQ(attrs.Address(NDA_DST, model::Family::kV4), Ip("198.51.100.7"));
  EXPECT_EQ(attrs.AnyAddress(NDA_DST), Ip("198.51.100.7"));
  EXPECT_EQ(attrs.U8(NDA_PROTOCOL), 177);
  EXPECT_FALSE(attrs.has(NDA_LLADDR));
}

TEST(Attributes, AnswerNothingForAPayloadOfTheWrongLength) {
  Message m(RTM_NEWNEIGH, 0);
  m.PutHeader<ndmsg>();
  const uint8_t five[5] = {1, 2, 3, 4, 5};
  m.Put(NDA_DST, five, sizeof(five));
  m.Put(NDA_LLADDR, five, sizeof(five));
  m.Put(NDA_PROBES, five, 2);
  m.Put(NDA_IFINDEX, "ab", 2);  // a string without its NUL
  const Attributes attrs(m.nlh(), sizeof(ndmsg));
  EXPECT_EQ(attrs.AnyAddress(NDA_DST), std::nullopt);
  EXPECT_EQ(attrs.Address(NDA_DST, model::Family::kV6), std::nullopt);
  EXPECT_EQ(attrs.Mac(NDA_LLADDR), std::nullopt);
  EXPECT_EQ(attrs.U32(NDA_PROBES), std::nullopt);
  EXPECT_EQ(attrs.String(NDA_IFINDEX), "ab");
  EXPECT_EQ(attrs.String(NDA_VNI), "");
}

TEST(ParseNeighbour, ReadsTheEntryAndWhetherItIsUsable) {
  Message m(RTM_NEWNEIGH, 0);
  auto* ndm = m.PutHeader<ndmsg>();
  ndm->ndm_family = AF_INET6;
  ndm->ndm_ifindex = 3;
  ndm->ndm_state = NUD_INCOMPLETE;
  m.PutAddress(NDA_DST, Ip("2001:db8::7"));
  m.PutU8(NDA_PROTOCOL, 177);
  m.PutU32(NDA_FLAGS_EXT, NTF_EXT_MANAGED);
  auto n = ParseNeighbour(m.nlh());
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->ifindex, 3u);
  EXPECT_EQ(n->address, Ip("2001:db8::7"));
  EXPECT_EQ(n->protocol, 177);
  EXPECT_TRUE(n->managed);
  EXPECT_FALSE(n->usable()) << "incomplete, no MAC";

  n->state = NUD_REACHABLE;
  EXPECT_FALSE(n->usable()) << "reachable but without a MAC";
  n->mac = {2, 0, 0, 0, 0, 7};
  EXPECT_TRUE(n->usable());
  n->state = NUD_FAILED;
  EXPECT_FALSE(n->usable());

  Message without(RTM_NEWNEIGH, 0);
  without.PutHeader<ndmsg>();
  EXPECT_EQ(ParseNeighbour(without.nlh()), std::nullopt) << "no destination";
}

TEST(ParseAddress, PrefersTheLocalAddressAndTheLongFlags) {
  Message m(RTM_NEWADDR, 0);
  auto* ifa = m.PutHeader<ifaddrmsg>();
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 24;
  ifa->ifa_index = 4;
  ifa->ifa_flags = IFA_F_SECONDARY;
  m.PutAddress(IFA_ADDRESS, Ip("192.0.2.99"));  // the peer of a point-to-point link
  m.PutAddress(IFA_LOCAL, Ip("192.0.2.1"));
  m.PutString(IFA_LABEL, "eth0:vrrp51");
  m.PutU32(IFA_FLAGS, IFA_F_SECONDARY | IFA_F_NOPREFIXROUTE);
  m.PutU8(IFA_PROTO, 112);
  auto a = ParseAddress(m.nlh());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->address, Ip("192.0.2.1"));
  EXPECT_EQ(a->ifindex, 4u);
  EXPECT_EQ(a->prefix_len, 24);
  EXPECT_EQ(a->label, "eth0:vrrp51");
  EXPECT_EQ(a->flags, uint32_t{IFA_F_SECONDARY | IFA_F_NOPREFIXROUTE});
  EXPECT_EQ(a->protocol, 112);

  Message v6(RTM_NEWADDR, 0);
  v6.PutHeader<ifaddrmsg>()->ifa_family = AF_INET6;
  v6.PutAddress(IFA_ADDRESS, Ip("2001:db8::1"));
  a = ParseAddress(v6.nlh());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->address, Ip("2001:db8::1"));
  EXPECT_EQ(a->protocol, 0);

  Message wrong(RTM_NEWADDR, 0);
  wrong.PutHeader<ifaddrmsg>()->ifa_family = AF_INET6;
  wrong.PutAddress(IFA_ADDRESS, Ip("192.0.2.1"));
  EXPECT_EQ(ParseAddress(wrong.nlh()), std::nullopt) << "an IPv4 address in an IPv6 message";
}

TEST(ParseRoute, TheGatewayOrTheAddressItself) {
  Message via(RTM_NEWROUTE, 0);
  via.PutHeader<rtmsg>()->rtm_family = AF_INET;
  via.PutU32(RTA_OIF, 5);
  via.PutAddress(RTA_GATEWAY, Ip("198.51.100.254"));
  EXPECT_EQ(ParseRoute(via.nlh(), Ip("192.0.2.9")),
            (Route{5, Ip("198.51.100.254"), std::nullopt}));

  Message on_link(RTM_NEWROUTE, 0);
  on_link.PutHeader<rtmsg>()->rtm_family = AF_INET6;
  on_link.PutU32(RTA_OIF, 6);
  EXPECT_EQ(ParseRoute(on_link.nlh(), Ip("2001:db8::9")),
            (Route{6, Ip("2001:db8::9"), std::nullopt}));

  // The source the kernel chose: a tunnel's default outer source.
  Message with_source(RTM_NEWROUTE, 0);
  with_source.PutHeader<rtmsg>()->rtm_family = AF_INET;
  with_source.PutU32(RTA_OIF, 5);
  with_source.PutAddress(RTA_GATEWAY, Ip("198.51.100.254"));
  with_source.PutAddress(RTA_PREFSRC, Ip("198.51.100.1"));
  EXPECT_EQ(ParseRoute(with_source.nlh(), Ip("192.0.2.9")),
            (Route{5, Ip("198.51.100.254"), Ip("198.51.100.1")}));
}

// A route of a dump: unicast, in `table` (RTA_TABLE as the kernel sends it).
void PutRoute(Message& m, uint8_t family, uint32_t table, uint8_t type = RTN_UNICAST) {
  auto* rtm = m.PutHeader<rtmsg>();
  rtm->rtm_family = family;
  rtm->rtm_table = table < 256 ? table : RT_TABLE_COMPAT;
  rtm->rtm_type = type;
  m.PutU32(RTA_TABLE, table);
}

TEST(ParseGateways, TheGatewayOfASinglePathRoute) {
  Message v4(RTM_NEWROUTE, 0);
  PutRoute(v4, AF_INET, RT_TABLE_MAIN);
  v4.PutU32(RTA_OIF, 5);
  v4.PutAddress(RTA_GATEWAY, Ip("198.51.100.254"));
  EXPECT_EQ(ParseGateways(v4.nlh()), (std::vector<Gateway>{{5, Ip("198.51.100.254")}}));

  Message v6(RTM_NEWROUTE, 0);
  PutRoute(v6, AF_INET6, RT_TABLE_MAIN);
  v6.PutAddress(RTA_DST, Ip("2001:db8:5::"));
  v6.PutU32(RTA_OIF, 6);
  v6.PutAddress(RTA_GATEWAY, Ip("fe80::1"));
  EXPECT_EQ(ParseGateways(v6.nlh()), (std::vector<Gateway>{{6, Ip("fe80::1")}}));
}

TEST(ParseGateways, EachPathOfAMultipathRoute) {
  Message m(RTM_NEWROUTE, 0);
  PutRoute(m, AF_INET, RT_TABLE_MAIN);
  // Two paths with a gateway, then one on the link (none), as ip route's
  // "nexthop via 198.51.100.253 dev if5 nexthop via 203.0.113.253 dev if7
  // nexthop dev if8".
  struct Path {
    uint32_t ifindex;
    std::optional<IpAddress> gateway;
  };
  std::vector<char> paths;
  for (const Path& p : {Path{5, Ip("198.51.100.253")}, Path{7, Ip("203.0.113.253")},
                        Path{8, std::nullopt}}) {
    const size_t attr_len = p.gateway ? MNL_ALIGN(sizeof(nlattr) + 4) : 0;
    std::vector<char> one(RTNH_LENGTH(attr_len));
    auto* rtnh = reinterpret_cast<rtnexthop*>(one.data());
    rtnh->rtnh_len = one.size();
    rtnh->rtnh_ifindex = p.ifindex;
    if (p.gateway) {
      auto* attr = reinterpret_cast<nlattr*>(one.data() + RTNH_LENGTH(0));
      attr->nla_type = RTA_GATEWAY;
      attr->nla_len = sizeof(nlattr) + 4;
      std::memcpy(attr + 1, p.gateway->bytes().data(), 4);
    }
    paths.insert(paths.end(), one.begin(), one.end());
  }
  m.Put(RTA_MULTIPATH, paths.data(), paths.size());
  EXPECT_EQ(ParseGateways(m.nlh()),
            (std::vector<Gateway>{{5, Ip("198.51.100.253")}, {7, Ip("203.0.113.253")}}));

  // A path whose length runs past the attribute ends the list, read no further.
  Message cut(RTM_NEWROUTE, 0);
  PutRoute(cut, AF_INET, RT_TABLE_MAIN);
  reinterpret_cast<rtnexthop*>(paths.data())->rtnh_len = paths.size() + 8;
  cut.Put(RTA_MULTIPATH, paths.data(), paths.size());
  EXPECT_EQ(ParseGateways(cut.nlh()), std::vector<Gateway>{});
}

TEST(ParseGateways, NoneForARouteOnTheLinkOfAnotherTableOrNotUnicast) {
  Message on_link(RTM_NEWROUTE, 0);
  PutRoute(on_link, AF_INET, RT_TABLE_MAIN);
  on_link.PutAddress(RTA_DST, Ip("198.51.100.0"));
  on_link.PutU32(RTA_OIF, 5);
  EXPECT_EQ(ParseGateways(on_link.nlh()), std::vector<Gateway>{});

  for (const uint32_t table : {uint32_t{RT_TABLE_LOCAL}, uint32_t{100}, uint32_t{1000}}) {
    Message other(RTM_NEWROUTE, 0);
    PutRoute(other, AF_INET, table);
    other.PutU32(RTA_OIF, 5);
    other.PutAddress(RTA_GATEWAY, Ip("198.51.100.254"));
    EXPECT_EQ(ParseGateways(other.nlh()), std::vector<Gateway>{}) << "table " << table;
  }

  Message blackhole(RTM_NEWROUTE, 0);
  PutRoute(blackhole, AF_INET, RT_TABLE_MAIN, RTN_BLACKHOLE);
  blackhole.PutU32(RTA_OIF, 5);
  blackhole.PutAddress(RTA_GATEWAY, Ip("198.51.100.254"));
  EXPECT_EQ(ParseGateways(blackhole.nlh()), std::vector<Gateway>{});

  Message wrong_family(RTM_NEWROUTE, 0);
  PutRoute(wrong_family, AF_INET6, RT_TABLE_MAIN);
  wrong_family.PutU32(RTA_OIF, 5);
  wrong_family.PutAddress(RTA_GATEWAY, Ip("198.51.100.254"));
  EXPECT_EQ(ParseGateways(wrong_family.nlh()), std::vector<Gateway>{}) << "4 bytes in an IPv6 route";
}

TEST(ParseLink, NameStateTypeAndMac) {
  Message m(RTM_NEWLINK, 0);
  auto* ifi = m.PutHeader<ifinfomsg>();
  ifi->ifi_index = 9;
  ifi->ifi_type = ARPHRD_ETHER;
  ifi->ifi_flags = IFF_UP | IFF_RUNNING;
  m.PutString(IFLA_IFNAME, "veth9");
  const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
  m.Put(IFLA_ADDRESS, mac, sizeof(mac));
  m.PutU32(IFLA_MTU, 1600);
  EXPECT_EQ(ParseLink(m.nlh()), (Link{9, "veth9", IFF_UP | IFF_RUNNING, ARPHRD_ETHER,
                                      MacAddress{2, 0, 0, 0, 0, 9}, 1600}));
}

// One datagram of answers, as the kernel sends them to port kPort.
constexpr uint32_t kPort = 4242;
constexpr uint32_t kSeq = 17;

class Datagram {
 public:
  // A message of `type` with `payload_len` zero bytes.
  void* Add(uint16_t type, size_t payload_len, uint32_t seq = kSeq, uint32_t port = kPort) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_ + len_);
    nlh->nlmsg_type = type;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = port;
    void* payload = mnl_nlmsg_put_extra_header(nlh, payload_len);
    len_ += nlh->nlmsg_len;
    return payload;
  }
  void AddError(int error) {
    static_cast<nlmsgerr*>(Add(NLMSG_ERROR, sizeof(nlmsgerr)))->error = error;
  }
  const char* data() const { return buf_; }
  size_t size() const { return len_; }

 private:
  alignas(nlmsghdr) char buf_[4096] = {};
  size_t len_ = 0;
};

absl::StatusOr<bool> RunOn(const Datagram& d, int* messages) {
  return RunAnswer(d.data(), d.size(), kSeq, kPort, [&](const nlmsghdr*) { ++*messages; },
                   "add 192.0.2.1/24 to eth0");
}

TEST(RunAnswer, AnAnswerEndsWithItsAckOrDone) {
  int messages = 0;
  Datagram part;
  part.Add(RTM_NEWADDR, sizeof(ifaddrmsg));
  part.Add(RTM_NEWADDR, sizeof(ifaddrmsg));
  EXPECT_EQ(RunOn(part, &messages), absl::StatusOr<bool>(false)) << "more to come";
  EXPECT_EQ(messages, 2);

  Datagram acked;
  acked.Add(RTM_NEWROUTE, sizeof(rtmsg));
  acked.AddError(0);
  EXPECT_EQ(RunOn(acked, &messages), absl::StatusOr<bool>(true));
  EXPECT_EQ(messages, 3);

  Datagram done;
  done.Add(NLMSG_DONE, sizeof(int));
  EXPECT_EQ(RunOn(done, &messages), absl::StatusOr<bool>(true));
  EXPECT_EQ(messages, 3);
}

TEST(RunAnswer, AKernelErrorIsItsErrnoNamingTheOperation) {
  Datagram d;
  d.AddError(-EEXIST);
  int messages = 0;
  auto done = RunOn(d, &messages);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(ErrnoOf(done.status()), EEXIST);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(done.status().message(), "add 192.0.2.1/24 to eth0: File exists");
}

TEST(RunAnswer, AMessageOfAnotherRequestOrPortIsAnError) {
  int messages = 0;
  Datagram other_request;
  other_request.Add(RTM_NEWADDR, sizeof(ifaddrmsg), kSeq + 1);
  EXPECT_EQ(ErrnoOf(RunOn(other_request, &messages).status()), EPROTO);
  Datagram other_port;
  other_port.Add(RTM_NEWADDR, sizeof(ifaddrmsg), kSeq, kPort + 1);
  EXPECT_EQ(ErrnoOf(RunOn(other_port, &messages).status()), ESRCH);
  EXPECT_EQ(messages, 0);
}

TEST(ErrnoOf, OnlyForErrorsThatCarryOne) {
  EXPECT_EQ(ErrnoOf(ErrnoError(EADDRNOTAVAIL, "x")), EADDRNOTAVAIL);
  EXPECT_EQ(ErrnoOf(absl::ErrnoToStatus(EADDRNOTAVAIL, "x")), 0);
  EXPECT_EQ(ErrnoOf(absl::OkStatus()), 0);
}

}  // namespace
}  // namespace xlb::netlink
