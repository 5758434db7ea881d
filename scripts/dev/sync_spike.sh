#!/bin/bash
# Spike for docs/sync-design.md (issue #16): what flow-state sync costs on
# this kernel. Builds a small XDP program (the layouts of bpf/xlb_abi.h) and a
# loader, and measures, with nothing of xlb running:
#  A. the cost per new flow (an LRU insert, as dr_new_flow makes) of emitting
#     a 64-byte flow event: bpf_ringbuf_reserve/submit, ringbuf_output,
#     perf_event_output, a per-CPU batch of 16 flushed by a timer; and a full
#     ring (the event dropped and counted). BPF_PROG_TEST_RUN, repeat=1 calls,
#     interleaved batches, median of each variant's batch minus the base batch
#     of the same round;
#  B. the user-space pipeline at 100k new flows/s for 1.5 s: ring -> sender
#     thread (libbpf ring_buffer, batches of 22 events, HMAC-SHA256 with
#     OpenSSL, UDP) -> receiver thread (HMAC and sequence check, insert into
#     its own LRU table, never over an entry: per event with two syscalls, or
#     22 at a time with a BPF_PROG_TYPE_SYSCALL program): CPU of each thread,
#     lag p50/p99, losses;
#  D. the receiver's parts alone (apply per entry, HMAC per datagram);
#  C. a bulk copy of 1M conn_table entries: bpf_map_update_batch,
#     bpf_map_lookup_batch, one-at-a-time inserts, HMAC over the copy.
# Then, if build/tests/bench/program_bench exists, today's dr_new_flow beside.
# Run as root: scripts/dev/sync_spike.sh [ENTRIES]. ~15 s. The UDP part runs
# in a namespace of its own (loopback only); the namespace and the temporary
# directory are removed on exit; maps are not pinned (gone with the process).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
ENTRIES=${1:-1048576}
[[ $ENTRIES =~ ^[0-9]+$ ]] && ((ENTRIES >= 65536 && ENTRIES <= 1048576)) ||
  { echo "sync_spike: ENTRIES must be 65536..1048576" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "sync_spike: run as root" >&2; exit 1; }
NS=syncsp$$
W=$(mktemp -d /tmp/syncspike.XXXXXX)
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

cat >"$W/spike.bpf.c" <<'C'
/* sync spike: cost of emitting a flow event from a new-flow path, and a
 * receiver's in-kernel apply (BPF_PROG_TYPE_SYSCALL). Layouts from xlb_abi.h. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include "xlb_abi.h"

/* What the data path would put in the ring: 64 bytes. */
struct spike_event {
	struct xlb_flow_key flow; /* 40 */
	__u32 real_id, real_gen;
	__u32 flags;              /* conn flags */
	__u32 type;               /* 1 new, 2 closing */
	__u64 ts_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_conn);
} conn SEC(".maps");
struct { /* the receiver's table (pipeline part) */
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_conn);
} peer_conn SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rb SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* one page: fills after a few events */
} rb_small SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spike_event);
} scratch SEC(".maps");
/* 0: per-CPU flow counter (unique keys); 1: ring/perf drops; 2..: apply stats */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} ctr SEC(".maps");

static __always_inline __u64 *counter(__u32 k) { return bpf_map_lookup_elem(&ctr, &k); }

#define STAGE 16
#ifndef BPF_F_TIMER_CPU_PIN
#define BPF_F_TIMER_CPU_PIN (1ULL << 1) /* kernel 6.7; Debian 12's uapi header predates it */
#endif
enum { M_BASE, M_RB_RESERVE, M_RB_NOWAKE, M_RB_OUTPUT, M_PERF, M_RB_FULL, M_RB_EMPTY, M_BATCH16, M_TIMED, M_TIMED_LAG, M_PERIODIC };

/* The proposed design: a per-CPU batch of 16 in an array slot per CPU, with a
 * one-shot 1 ms timer pinned to the CPU, armed when a batch starts, that
 * sends a partial batch (XDP and the timer's softirq never interleave on one
 * CPU). */
#define CPUS_MAX 256
struct timed_stage { struct bpf_timer t; __u32 n, ready, armed, idle; struct spike_event ev[STAGE]; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CPUS_MAX);
	__type(key, __u32);
	__type(value, struct timed_stage);
} timed SEC(".maps");

static int timed_flush(void *map, __u32 *key, struct timed_stage *st)
{
	__u32 n = st->n;
	if (n > STAGE)
		n = STAGE;
	if (n && bpf_ringbuf_output(&rb, st->ev, n * sizeof(struct spike_event), 0) != 0) {
		__u64 *d = counter(1);
		if (d)
			*d += n;
	}
	st->n = 0;
	__u64 *f = counter(5); /* timer flushes */
	if (f)
		++*f;
	/* periodic: re-arms itself (its cost is off the packet path) until
	 * 100 rounds in a row found nothing to send */
	if (st->armed) {
		st->idle = n ? 0 : st->idle + 1;
		if (st->idle < 100)
			bpf_timer_start(&st->t, 1000000, BPF_F_TIMER_CPU_PIN);
		else
			st->armed = 0;
	}
	return 0;
}

/* Per-CPU staging of 16 events, sent to the ring as one record when full
 * (xlb would also flush a partial batch from a CPU-pinned bpf_timer). */
struct stage { __u32 n, pad; struct spike_event ev[STAGE]; };
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stage);
} stages SEC(".maps");

static __always_inline int new_flow(struct xdp_md *ctx, int mode)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;
	__u64 *n = counter(0);
	if (!n)
		return XDP_ABORTED;
	__u64 i = ++*n;
	struct xlb_flow_key key = {};
	key.src[0] = ip->saddr ^ (__u32)(i >> 16) ^ (bpf_get_smp_processor_id() << 24);
	key.dst[0] = ip->daddr;
	key.sport = (__u16)i;
	key.dport = tcp->dest;
	key.proto = IPPROTO_TCP;
	key.family = XLB_FAMILY_V4;
	__u64 now = bpf_ktime_get_coarse_ns();
	struct xlb_conn c = {.real_id = 7, .real_gen = 3, .service_id = 1, .service_gen = 2,
			     .timeout_s = 900, .closing_timeout_s = 120, .last_seen_ns = now};
	bpf_map_update_elem(&conn, &key, &c, BPF_ANY);
	/* the event: the entry's key, ids, flags and a timestamp */
	struct spike_event *e;
	long rc = 0;
	switch (mode) {
	case M_RB_EMPTY: /* reserve + submit of 64 bytes, nothing written */
		e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
		if (!e) {
			rc = -1;
			break;
		}
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
		break;
	case M_BATCH16: {
		__u32 z = 0;
		struct stage *st = bpf_map_lookup_elem(&stages, &z);
		if (!st)
			return XDP_ABORTED;
		__u32 k = st->n;
		if (k >= STAGE)
			k = 0;
		e = &st->ev[k];
		e->flow = key;
		e->real_id = c.real_id;
		e->real_gen = c.real_gen;
		e->flags = c.flags;
		e->type = 1;
		e->ts_ns = now;
		st->n = k + 1;
		if (st->n == STAGE) {
			rc = bpf_ringbuf_output(&rb, st->ev, sizeof(st->ev), BPF_RB_NO_WAKEUP);
			st->n = 0;
		}
		break;
	}
	case M_TIMED:
	case M_TIMED_LAG:
	case M_PERIODIC: {
		__u32 cpu = bpf_get_smp_processor_id();
		struct timed_stage *st = bpf_map_lookup_elem(&timed, &cpu);
		if (!st)
			return XDP_ABORTED;
		if (!st->ready) {
			bpf_timer_init(&st->t, &timed, 1 /* CLOCK_MONOTONIC */);
			bpf_timer_set_callback(&st->t, timed_flush);
			st->ready = 1;
		}
		__u32 k = st->n;
		if (k >= STAGE)
			k = 0;
		e = &st->ev[k];
		e->flow = key;
		e->real_id = c.real_id;
		e->real_gen = c.real_gen;
		e->flags = c.flags;
		e->type = 1;
		e->ts_ns = mode == M_TIMED_LAG ? bpf_ktime_get_ns() : now;
		st->n = k + 1;
		if (mode == M_TIMED) {
			if (k == 0) /* one-shot, armed per batch */
				bpf_timer_start(&st->t, 1000000, BPF_F_TIMER_CPU_PIN);
		} else if (!st->armed) { /* periodic: armed once, after idle */
			st->armed = 1;
			st->idle = 0;
			bpf_timer_start(&st->t, 1000000, BPF_F_TIMER_CPU_PIN);
		}
		if (st->n == STAGE) {
			rc = bpf_ringbuf_output(&rb, st->ev, sizeof(st->ev), BPF_RB_NO_WAKEUP);
			if (rc)
				rc = STAGE;
			st->n = 0;
		}
		break;
	}
	case M_RB_RESERVE:
	case M_RB_NOWAKE:
	case M_RB_FULL:
		e = bpf_ringbuf_reserve(mode == M_RB_FULL ? (void *)&rb_small : (void *)&rb,
					sizeof(*e), 0);
		if (!e) {
			rc = -1;
			break;
		}
		e->flow = key;
		e->real_id = c.real_id;
		e->real_gen = c.real_gen;
		e->flags = c.flags;
		e->type = 1;
		e->ts_ns = bpf_ktime_get_ns(); /* for the spike's lag; xlb would send now */
		bpf_ringbuf_submit(e, mode == M_RB_NOWAKE ? BPF_RB_NO_WAKEUP : 0);
		break;
	case M_RB_OUTPUT:
	case M_PERF: {
		__u32 z = 0;
		e = bpf_map_lookup_elem(&scratch, &z); /* per-CPU array as staging */
		if (!e)
			return XDP_ABORTED;
		e->flow = key;
		e->real_id = c.real_id;
		e->real_gen = c.real_gen;
		e->flags = c.flags;
		e->type = 1;
		e->ts_ns = bpf_ktime_get_ns();
		if (mode == M_RB_OUTPUT)
			rc = bpf_ringbuf_output(&rb, e, sizeof(*e), 0);
		else
			rc = bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, e, sizeof(*e));
		break;
	}
	}
	if (rc) {
		__u64 *d = counter(1);
		if (d)
			*d += rc > 0 ? rc : 1;
	}
	return XDP_TX;
}

SEC("xdp") int xdp_base(struct xdp_md *ctx) { return new_flow(ctx, M_BASE); }
SEC("xdp") int xdp_rb_reserve(struct xdp_md *ctx) { return new_flow(ctx, M_RB_RESERVE); }
SEC("xdp") int xdp_rb_nowake(struct xdp_md *ctx) { return new_flow(ctx, M_RB_NOWAKE); }
SEC("xdp") int xdp_rb_output(struct xdp_md *ctx) { return new_flow(ctx, M_RB_OUTPUT); }
SEC("xdp") int xdp_perf(struct xdp_md *ctx) { return new_flow(ctx, M_PERF); }
SEC("xdp") int xdp_rb_full(struct xdp_md *ctx) { return new_flow(ctx, M_RB_FULL); }
SEC("xdp") int xdp_rb_empty(struct xdp_md *ctx) { return new_flow(ctx, M_RB_EMPTY); }
SEC("xdp") int xdp_batch16(struct xdp_md *ctx) { return new_flow(ctx, M_BATCH16); }
SEC("xdp") int xdp_timed(struct xdp_md *ctx) { return new_flow(ctx, M_TIMED); }
SEC("xdp") int xdp_timed_lag(struct xdp_md *ctx) { return new_flow(ctx, M_TIMED_LAG); }
SEC("xdp") int xdp_periodic(struct xdp_md *ctx) { return new_flow(ctx, M_PERIODIC); }

/* Receiver: a batch of entries already in local form (ids translated by
 * xlbd), applied without ever replacing a newer entry:
 *  absent -> insert with BPF_NOEXIST (loses to a data-path insert racing it);
 *  present, same real, older -> last_seen and CLOSING/ESTABLISHED in place;
 *  present otherwise -> left alone. */
#define APPLY_MAX 22
struct apply_args {
	__u32 n;
	__u32 pad;
	struct { struct xlb_flow_key k; struct xlb_conn v; } e[APPLY_MAX];
};
/* Written by the loader through the .bss mapping (no syscall), then one
 * BPF_PROG_RUN of apply: one syscall per datagram. */
struct apply_args apply_buf;
SEC("syscall")
int apply(void *unused)
{
	__u32 n = apply_buf.n;
	__u64 ins = 0, upd = 0, kept = 0;
	for (__u32 i = 0; i < APPLY_MAX && i < n; i++) {
		struct xlb_flow_key *k = &apply_buf.e[i].k;
		struct xlb_conn *v = &apply_buf.e[i].v;
		struct xlb_conn *old = bpf_map_lookup_elem(&peer_conn, k);
		if (!old) {
			if (bpf_map_update_elem(&peer_conn, k, v, BPF_NOEXIST) == 0)
				ins++;
			else
				kept++;
		} else if (old->real_id == v->real_id && old->real_gen == v->real_gen &&
			   old->last_seen_ns < v->last_seen_ns) {
			old->last_seen_ns = v->last_seen_ns;
			old->flags |= v->flags & (XLB_CONN_F_CLOSING | XLB_CONN_F_ESTABLISHED);
			upd++;
		} else {
			kept++;
		}
	}
	__u64 *c;
	if ((c = counter(2))) *c += ins;
	if ((c = counter(3))) *c += upd;
	if ((c = counter(4))) *c += kept;
	return 0;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
C

cat >"$W/spike.c" <<'C'
// sync spike loader: see scripts/dev/sync_spike.sh for what it measures.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "xlb_abi.h"

struct spike_event {
  struct xlb_flow_key flow;
  __u32 real_id, real_gen, flags, type;
  __u64 ts_ns;
};
#define APPLY_MAX 22
struct apply_args {
  __u32 n, pad;
  struct { struct xlb_flow_key k; struct xlb_conn v; } e[APPLY_MAX];
};

static struct bpf_object *obj;
static unsigned char pkt[64];
static const unsigned char hmac_key[32] = "spike key, 32 bytes, not secret";

static void die(const char *what) { fprintf(stderr, "sync_spike: %s: %s\n", what, strerror(errno)); exit(1); }
static int prog_fd(const char *name) {
  struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
  if (!p) die(name);
  return bpf_program__fd(p);
}
static int map_fd(const char *name) {
  int fd = bpf_object__find_map_fd_by_name(obj, name);
  if (fd < 0) die(name);
  return fd;
}
static __u64 now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }
static __u64 thread_cpu_ns(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }
static __u64 ctr_sum(__u32 k) {
  int n = libbpf_num_possible_cpus();
  __u64 v[256] = {0}, s = 0;
  if (bpf_map_lookup_elem(map_fd("ctr"), &k, v)) die("ctr");
  for (int i = 0; i < n; i++) s += v[i];
  return s;
}
static __u64 run(int fd, int repeat) {
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = repeat);
  if (bpf_prog_test_run_opts(fd, &o)) die("test_run");
  if (o.retval != XDP_TX) { fprintf(stderr, "verdict %u\n", o.retval); exit(1); }
  return o.duration;
}
static int cmp_d(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static int cmp_u(const void *a, const void *b) { __u64 x = *(__u64 *)a, y = *(__u64 *)b; return x < y ? -1 : x > y; }

static int count_cb(void *ctx, void *data, size_t len) { ++*(long *)ctx; return 0; }
static void perf_cb(void *ctx, int cpu, void *data, __u32 len) { ++*(long *)ctx; }

/* ---- A: cost per new flow ---- */
static void part_a(int batches, int calls) {
  const char *names[] = {"xdp_base", "xdp_rb_reserve", "xdp_rb_nowake", "xdp_rb_output", "xdp_perf", "xdp_rb_full", "xdp_rb_empty", "xdp_batch16", "xdp_timed", "xdp_periodic"};
  const char *label[] = {"base (LRU insert)", "+ ringbuf reserve/submit", "+ reserve/submit NO_WAKEUP",
                         "+ ringbuf_output (per-CPU staging)", "+ perf_event_output", "+ reserve, ring full",
                         "+ reserve/submit only (no fill)", "+ per-CPU batch of 16 -> ringbuf_output",
                         "+ batch16, one-shot 1 ms timer/batch",
                         "+ batch16, periodic 1 ms timer (proposed)"};
  enum { N = 10 };
  long consumed = 0, perf_got = 0;
  struct ring_buffer *rb = ring_buffer__new(map_fd("rb"), count_cb, &consumed, NULL);
  if (!rb) die("ring_buffer__new");
  struct perf_buffer *pb = perf_buffer__new(map_fd("perf"), 64, perf_cb, NULL, &perf_got, NULL);
  if (!pb) die("perf_buffer__new");
  int fds[N];
  for (int i = 0; i < N; i++) fds[i] = prog_fd(names[i]);
  for (int i = 0; i < 200; i++) run(fds[5], 1); /* fill rb_small: never consumed */
  double *means = calloc(N * batches, sizeof(double));
  __u64 drops[N] = {0};
  for (int b = -1; b < batches; b++) /* b = -1: warm-up */
    for (int i = 0; i < N; i++) {
      __u64 d0 = ctr_sum(1), tot = 0;
      for (int c = 0; c < calls; c++) tot += run(fds[i], 1);
      if (b >= 0) { means[i * batches + b] = (double)tot / calls; drops[i] += ctr_sum(1) - d0; }
      ring_buffer__consume(rb);
      perf_buffer__consume(pb);
    }
  printf("A. cost per new flow (BPF_PROG_TEST_RUN, repeat=1, median of %d interleaved batches x %d calls)\n",
         batches, calls);
  /* each variant's batch minus the base batch of the same round: the
   * machine's drift between rounds cancels out */
  double *delta = calloc(batches, sizeof(double));
  for (int i = 0; i < N; i++) {
    for (int b = 0; b < batches; b++) delta[b] = means[i * batches + b] - means[b];
    qsort(delta, batches, sizeof(double), cmp_d);
    double d = delta[batches / 2];
    qsort(means + i * batches, batches, sizeof(double), cmp_d);
    double med = means[i * batches + batches / 2];
    printf("   %-36s %7.1f ns  (batches %6.1f..%6.1f)  paired delta vs base %+7.1f ns (IQR %+.1f..%+.1f)  dropped %llu of %d\n",
           label[i], med, means[i * batches], means[i * batches + batches - 1], d, delta[batches / 4],
           delta[batches * 3 / 4], (unsigned long long)drops[i], batches * calls);
  }
  free(delta);
  printf("   consumed: ring %ld, perf %ld events\n", consumed, perf_got);
  ring_buffer__free(rb);
  perf_buffer__free(pb);
  free(means);
}

/* ---- B: the user-space pipeline ---- */
#define WIRE_HDR 24 /* magic, count, seq, send time */
#define WIRE_MAX_EVENTS 22
#define HMAC_LEN 32
struct pipe_cfg { int rate, ms, nowake, batch_apply, udp_port; };
static struct pipe_cfg cfg;
static atomic_int producing, sending;
static int tx_sock, rx_sock;
static struct sockaddr_in peer;
static struct { unsigned char buf[1500]; int n; __u64 seq; long sent_events, datagrams; } tx;
static struct apply_args *apply_buf;

static void flush_batch(void) {
  if (!tx.n) return;
  unsigned char *b = tx.buf;
  __u32 magic = 0x584c4273, cnt = tx.n;
  __u64 seq = ++tx.seq, t = now_ns();
  memcpy(b, &magic, 4); memcpy(b + 4, &cnt, 4); memcpy(b + 8, &seq, 8); memcpy(b + 16, &t, 8);
  size_t len = WIRE_HDR + tx.n * sizeof(struct spike_event);
  unsigned int mlen = 0;
  if (!HMAC(EVP_sha256(), hmac_key, sizeof(hmac_key), b, len, b + len, &mlen)) die("HMAC");
  if (sendto(tx_sock, b, len + mlen, 0, (struct sockaddr *)&peer, sizeof(peer)) < 0) die("sendto");
  tx.sent_events += tx.n;
  tx.datagrams++;
  tx.n = 0;
}
static int pipe_cb(void *ctx, void *data, size_t len) {
  /* one record holds one event, or a batch of them; xlbd would translate
   * real_id/gen to the real's address here */
  for (size_t off = 0; off + sizeof(struct spike_event) <= len; off += sizeof(struct spike_event)) {
    memcpy(tx.buf + WIRE_HDR + tx.n * sizeof(struct spike_event), (char *)data + off, sizeof(struct spike_event));
    if (++tx.n == WIRE_MAX_EVENTS) flush_batch();
  }
  return 0;
}
static __u64 sender_cpu, receiver_cpu;
static void *sender(void *arg) {
  struct ring_buffer *rb = ring_buffer__new(map_fd("rb"), pipe_cb, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  __u64 c0 = thread_cpu_ns();
  while (atomic_load(&producing) || atomic_load(&sending)) {
    if (cfg.nowake) {
      struct timespec ts = {0, 2000000}; /* poll the ring every 2 ms */
      nanosleep(&ts, NULL);
      ring_buffer__consume(rb);
    } else {
      ring_buffer__poll(rb, 5); /* epoll on the ring's wakeups */
    }
    flush_batch(); /* what the round gathered: latency bounded by the round */
    if (!atomic_load(&producing)) atomic_store(&sending, 0), ring_buffer__consume(rb), flush_batch();
  }
  sender_cpu = thread_cpu_ns() - c0;
  ring_buffer__free(rb);
  return NULL;
}
static __u64 *lags; static long nlags, received, bad_mac, seq_gaps, applied_calls;
static void *receiver(void *arg) {
  unsigned char b[1600], mac[HMAC_LEN];
  int conn_fd = map_fd("peer_conn"), apply_fd = prog_fd("apply");
  __u64 c0 = thread_cpu_ns(), last_seq = 0;
  for (;;) {
    ssize_t n = recv(rx_sock, b, sizeof(b), 0);
    if (n < 0) { if (errno == EAGAIN && !atomic_load(&producing) && !atomic_load(&sending)) break; continue; }
    if (n < WIRE_HDR + HMAC_LEN) { bad_mac++; continue; }
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), hmac_key, sizeof(hmac_key), b, n - HMAC_LEN, mac, &mlen);
    if (CRYPTO_memcmp(mac, b + n - HMAC_LEN, HMAC_LEN)) { bad_mac++; continue; }
    __u32 cnt; __u64 seq;
    memcpy(&cnt, b + 4, 4); memcpy(&seq, b + 8, 8);
    if (seq <= last_seq) { bad_mac++; continue; } /* replayed */
    seq_gaps += seq - last_seq - 1;
    last_seq = seq;
    __u64 t = now_ns();
    if (apply_buf) apply_buf->n = 0;
    for (__u32 i = 0; i < cnt && i < WIRE_MAX_EVENTS; i++) {
      struct spike_event e;
      memcpy(&e, b + WIRE_HDR + i * sizeof(e), sizeof(e));
      if (nlags < 4000000) lags[nlags++] = t - e.ts_ns;
      /* the local entry: xlbd would map (service, real address) to local ids */
      struct xlb_conn v = {.real_id = 9, .real_gen = 1, .service_id = 1, .service_gen = 1,
                           .timeout_s = 900, .closing_timeout_s = 120, .flags = e.flags,
                           .last_seen_ns = e.ts_ns};
      if (cfg.batch_apply) {
        apply_buf->e[i].k = e.flow;
        apply_buf->e[i].v = v;
        apply_buf->n = i + 1;
      } else {
        struct xlb_conn old;
        if (bpf_map_lookup_elem(conn_fd, &e.flow, &old) != 0)
          bpf_map_update_elem(conn_fd, &e.flow, &v, BPF_NOEXIST);
        applied_calls++;
      }
      received++;
    }
    if (cfg.batch_apply && apply_buf->n) {
      LIBBPF_OPTS(bpf_test_run_opts, o);
      if (bpf_prog_test_run_opts(apply_fd, &o)) die("apply");
      applied_calls++;
    }
  }
  receiver_cpu = thread_cpu_ns() - c0;
  return NULL;
}
static void part_b(int rate, int ms, int nowake, int batch_apply) {
  cfg = (struct pipe_cfg){rate, ms, nowake, batch_apply};
  memset(&tx, 0, sizeof(tx));
  nlags = received = bad_mac = seq_gaps = applied_calls = 0;
  rx_sock = socket(AF_INET, SOCK_DGRAM, 0);
  tx_sock = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 8 << 20;
  setsockopt(rx_sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  struct timeval tv = {0, 100000};
  setsockopt(rx_sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  peer = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(rx_sock, (struct sockaddr *)&peer, sizeof(peer))) die("bind");
  socklen_t sl = sizeof(peer);
  getsockname(rx_sock, (struct sockaddr *)&peer, &sl);
  int fd = prog_fd(nowake ? "xdp_timed_lag" : "xdp_rb_reserve");
  __u64 drops0 = ctr_sum(1);
  atomic_store(&producing, 1);
  atomic_store(&sending, 1);
  pthread_t ts, tr;
  pthread_create(&tr, NULL, receiver, NULL);
  pthread_create(&ts, NULL, sender, NULL);
  /* producer: rate/1000 new flows every millisecond, for ms milliseconds */
  long produced = 0;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  __u64 t0 = now_ns();
  for (int i = 0; i < ms; i++) {
    for (int k = 0; k < rate / 1000; k++) run(fd, 1); /* repeat>1 costs ~25 ms of set-up here */
    produced += rate / 1000;
    next.tv_nsec += 1000000;
    if (next.tv_nsec >= 1000000000) next.tv_nsec -= 1000000000, next.tv_sec++;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  double secs = (now_ns() - t0) / 1e9;
  atomic_store(&producing, 0);
  pthread_join(ts, NULL);
  pthread_join(tr, NULL);
  close(rx_sock); close(tx_sock);
  qsort(lags, nlags, sizeof(__u64), cmp_u);
  double p50 = nlags ? lags[nlags / 2] / 1e6 : -1, p99 = nlags ? lags[nlags * 99 / 100] / 1e6 : -1;
  printf("   %-26s %-22s %8.0f/s  sender %5.1f%% cpu  receiver %5.1f%% cpu  lag p50 %5.2f ms p99 %5.2f ms  "
         "sent %ld in %ld datagrams, received %ld, ring drops %llu, seq gaps %ld, bad %ld, apply calls %ld\n",
         nowake ? "batch16+timer, poll 2 ms" : "1 event/record, epoll", batch_apply ? "batched apply (syscall prog)" : "lookup+update per event",
         produced / secs, 100.0 * sender_cpu / 1e9 / secs, 100.0 * receiver_cpu / 1e9 / secs, p50, p99,
         tx.sent_events, tx.datagrams, received, (unsigned long long)(ctr_sum(1) - drops0), seq_gaps, bad_mac,
         applied_calls);
}

/* ---- C: bulk copy ---- */
static void part_c(int entries) {
  int fd = map_fd("conn"), dst = map_fd("peer_conn");
  enum { CHUNK = 8192 };
  struct xlb_flow_key *keys = calloc(entries, sizeof(*keys));
  struct xlb_conn *vals = calloc(entries, sizeof(*vals));
  for (int i = 0; i < entries; i++) {
    keys[i].src[0] = htonl(0xc6336400u + (i >> 16)); /* 198.51.100.x */
    keys[i].dst[0] = htonl(0xcb00710au);             /* 203.0.113.10 */
    keys[i].sport = htons(i & 0xffff);
    keys[i].dport = htons(80);
    keys[i].proto = 6;
    keys[i].family = 4;
    vals[i] = (struct xlb_conn){.real_id = 1 + i % 3, .real_gen = 1, .service_id = 1, .service_gen = 1,
                                .timeout_s = 900, .closing_timeout_s = 120, .last_seen_ns = i};
  }
  printf("C. bulk copy of %d conn_table entries (40-byte key, 40-byte value)\n", entries);
  /* receiver side, all at once: update_batch into an emptied map */
  LIBBPF_OPTS(bpf_map_batch_opts, bo);
  __u64 t = now_ns();
  for (int i = 0; i < entries; i += CHUNK) {
    __u32 n = entries - i < CHUNK ? entries - i : CHUNK;
    if (bpf_map_update_batch(fd, keys + i, vals + i, &n, &bo)) die("update_batch");
  }
  double t_upd = (now_ns() - t) / 1e9;
  /* sender side: walk it with lookup_batch */
  /* the walk reads the whole table (what earlier parts left too) */
  size_t cap = bpf_map__max_entries(bpf_object__find_map_by_name(obj, "conn")) + CHUNK;
  struct xlb_flow_key *ok = calloc(cap, sizeof(*ok));
  struct xlb_conn *ov = calloc(cap, sizeof(*ov));
  __u64 in_batch = 0, out_batch = 0; long got = 0; int first = 1;
  t = now_ns();
  for (size_t guard = 0; guard < cap / CHUNK + 1 && got + CHUNK <= (long)cap; guard++) {
    __u32 n = CHUNK;
    int rc = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, ok + got, ov + got, &n, &bo);
    got += n;
    first = 0;
    in_batch = out_batch;
    if (rc) { if (errno == ENOENT) break; die("lookup_batch"); }
  }
  double t_walk = (now_ns() - t) / 1e9;
  /* receiver side, one at a time (lookup, then update BPF_NOEXIST) */
  int per = entries < (1 << 18) ? entries : (1 << 18);
  t = now_ns();
  for (int i = 0; i < per; i++) {
    struct xlb_conn old;
    if (bpf_map_lookup_elem(dst, keys + i, &old) != 0) bpf_map_update_elem(dst, keys + i, vals + i, BPF_NOEXIST);
  }
  double t_one = (now_ns() - t) / 1e9;
  /* HMAC over the whole copy as it would go on the wire (64 bytes per entry) */
  size_t wire = (size_t)entries * 64;
  unsigned char *w = malloc(wire), mac[32];
  memset(w, 0x5a, wire);
  unsigned int ml;
  t = now_ns();
  HMAC(EVP_sha256(), hmac_key, sizeof(hmac_key), w, wire, mac, &ml);
  double t_mac = (now_ns() - t) / 1e9;
  printf("   update_batch (chunks of %d):             %6.3f s  (%.0f ns/entry)\n", CHUNK, t_upd, t_upd * 1e9 / entries);
  printf("   lookup_batch walk:                       %6.3f s  (%.0f ns/entry, %ld entries read)\n", t_walk,
         t_walk * 1e9 / (got ? got : 1), got);
  printf("   lookup + update(NOEXIST) per entry (%d): %6.3f s  (%.0f ns/entry)\n", per, t_one, t_one * 1e9 / per);
  printf("   HMAC-SHA256 over %zu MB (64 B/entry):     %6.3f s  (%.0f MB/s)\n", wire >> 20, t_mac, wire / 1e6 / t_mac);
  free(keys); free(vals); free(ok); free(ov); free(w);
}

/* ---- D: the receiver's parts alone ---- */
static void part_d(void) {
  int apply_fd = prog_fd("apply");
  __u64 ins0 = ctr_sum(2), dur = 0, calls = 3000;
  for (__u64 c = 0; c < calls; c++) {
    apply_buf->n = APPLY_MAX;
    for (int i = 0; i < APPLY_MAX; i++) {
      memset(&apply_buf->e[i], 0, sizeof(apply_buf->e[i]));
      apply_buf->e[i].k.src[0] = htonl(0xc0000200u + (c >> 8)); /* 192.0.2.x */
      apply_buf->e[i].k.dst[0] = htonl(0xcb00710au);
      apply_buf->e[i].k.sport = htons((c * APPLY_MAX + i) & 0xffff);
      apply_buf->e[i].k.dport = htons(443);
      apply_buf->e[i].k.pad[0] = (c * APPLY_MAX + i) >> 16;
      apply_buf->e[i].k.proto = 6; apply_buf->e[i].k.family = 4;
      apply_buf->e[i].v = (struct xlb_conn){.real_id = 2, .real_gen = 1, .service_id = 1, .service_gen = 1,
                                            .timeout_s = 900, .closing_timeout_s = 120, .last_seen_ns = 1};
    }
    LIBBPF_OPTS(bpf_test_run_opts, o);
    __u64 t = now_ns();
    if (bpf_prog_test_run_opts(apply_fd, &o)) die("apply");
    dur += now_ns() - t;
  }
  printf("D. receiver parts alone\n   apply (syscall prog, %d entries per run, full LRU of 262144): %.0f ns/entry incl. the "
         "syscall, %llu inserted of %llu\n", APPLY_MAX, (double)dur / (calls * APPLY_MAX),
         (unsigned long long)(ctr_sum(2) - ins0), (unsigned long long)(calls * APPLY_MAX));
  /* the last batch again: newer (refreshed in place), then older (kept) */
  __u64 r0 = ctr_sum(3), k0 = ctr_sum(4);
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < APPLY_MAX; i++) apply_buf->e[i].v.last_seen_ns = pass == 0 ? 2 : 0;
    LIBBPF_OPTS(bpf_test_run_opts, o);
    if (bpf_prog_test_run_opts(apply_fd, &o)) die("apply");
  }
  printf("   same %d entries again, newer then older: refreshed %llu, kept %llu\n", APPLY_MAX,
         (unsigned long long)(ctr_sum(3) - r0), (unsigned long long)(ctr_sum(4) - k0));
  unsigned char b[1464], mac[32];
  unsigned int ml;
  memset(b, 1, sizeof(b));
  __u64 t = now_ns();
  for (int i = 0; i < 20000; i++) HMAC(EVP_sha256(), hmac_key, sizeof(hmac_key), b, sizeof(b) - 32, mac, &ml);
  printf("   HMAC-SHA256 of one 1432-byte datagram (OpenSSL HMAC()): %.0f ns\n", (now_ns() - t) / 20000.0);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: spike OBJ [entries]\n"); return 2; }
  int entries = argc > 2 ? atoi(argv[2]) : (1 << 20);
  setvbuf(stdout, NULL, _IOLBF, 0);
  libbpf_set_print(NULL);
  obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) die("open");
  if (bpf_object__load(obj)) die("load (verifier)");
  struct bpf_map *bss = bpf_object__find_map_by_name(obj, ".bss");
  size_t sz = 0;
  /* libbpf 1.1 maps .bss shared with the kernel only for skeletons: map it here */
  if (!bss || !(bpf_map__map_flags(bss) & BPF_F_MMAPABLE)) { fprintf(stderr, "no mmapable .bss\n"); return 1; }
  sz = bpf_map__value_size(bss);
  apply_buf = mmap(NULL, (sz + 4095) & ~4095ul, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
  if (apply_buf == MAP_FAILED || sz < sizeof(*apply_buf)) die("mmap .bss");
  /* a TCP SYN 192.0.2.1:1234 -> 203.0.113.10:80 */
  struct ethhdr *eth = (void *)pkt;
  struct iphdr *ip = (void *)(eth + 1);
  struct tcphdr *tcp = (void *)(ip + 1);
  eth->h_proto = htons(ETH_P_IP);
  ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = 6; ip->tot_len = htons(50);
  ip->saddr = htonl(0xc0000201); ip->daddr = htonl(0xcb00710a);
  tcp->source = htons(1234); tcp->dest = htons(80); tcp->doff = 5; tcp->syn = 1;
  lags = calloc(4000000, sizeof(*lags));
  part_a(30, 2000);
  printf("B. pipeline at 100k new flows/s for 1.5 s: ring -> sender (batch of <= %d events, HMAC-SHA256, UDP "
         "loopback, %zu-byte datagrams) -> receiver (HMAC check, sequence, apply)\n",
         WIRE_MAX_EVENTS, WIRE_HDR + WIRE_MAX_EVENTS * sizeof(struct spike_event) + HMAC_LEN);
  for (int nowake = 0; nowake < 2; nowake++)
    for (int ba = 0; ba < 2; ba++) part_b(100000, 1500, nowake, ba);
  printf("   timer flushes during A and B: %llu\n", (unsigned long long)ctr_sum(5));
  printf("   receiver table after B: inserted %llu, refreshed %llu, kept %llu (batched apply)\n",
         (unsigned long long)ctr_sum(2), (unsigned long long)ctr_sum(3), (unsigned long long)ctr_sum(4));
  part_d();
  part_c(entries);
  bpf_object__close(obj);
  return 0;
}
C

clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu -I"$root/bpf" \
  -c "$W/spike.bpf.c" -o "$W/spike.bpf.o"
gcc -O2 -Wall -I"$root/bpf" "$W/spike.c" -o "$W/spike" -lbpf -lcrypto -lpthread
ip netns add "$NS"
ip -n "$NS" link set lo up
echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 120 ip netns exec "$NS" "$W/spike" "$W/spike.bpf.o" "$ENTRIES"
bench=$root/build/tests/bench/program_bench
if [[ -x $bench ]]; then
  echo "today's program (scripts/bench.sh program), same machine, right after:"
  timeout 60 "$bench" --batches 20 | grep -E '^(path|floor|dr_new_flow|dr_conn_hit)'
else
  echo "no $bench: build it (ninja -C build tests/bench/program_bench) for dr_new_flow beside"
fi
