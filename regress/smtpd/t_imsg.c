/*
 * imsg framing, tried over real socketpairs: messages cut into pieces
 * or packed together, descriptors riding with their messages, the
 * payload limit on both sides, the typed readers and their error flag,
 * a receiver with no descriptor left, and a sender whose socket fills
 * up.  Receiving ends are nonblocking,
 * so a message that never comes fails a case instead of hanging it.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atf-c.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpd/imsg.h"

/* Two imsgbufs on the two ends of one socketpair: tx writes, rx reads. */
struct pair {
	int		 sv[2];
	struct imsgbuf	 tx;
	struct imsgbuf	 rx;
};

static void
nonblock(int fd)
{
	int	 flags;

	ATF_REQUIRE((flags = fcntl(fd, F_GETFL)) != -1);
	ATF_REQUIRE(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
}

static void
pair_open(struct pair *p)
{
	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    p->sv) == 0);
	nonblock(p->sv[1]);
	imsgbuf_init(&p->tx, p->sv[0]);
	imsgbuf_init(&p->rx, p->sv[1]);
}

static void
pair_close(struct pair *p)
{
	imsgbuf_clear(&p->tx);
	imsgbuf_clear(&p->rx);
	close(p->sv[0]);
	close(p->sv[1]);
}

static void
send_all(struct pair *p)
{
	ATF_REQUIRE(imsgbuf_flush(&p->tx) == 0);
	ATF_REQUIRE_MSG(!imsgbuf_pending(&p->tx),
	    "the socket did not take the whole queue");
}

/* The next message on rx, reading as needed; fails if none is there. */
static void
recv_one(struct pair *p, struct imsg *imsg)
{
	ssize_t	 n;
	int	 r;

	for (;;) {
		r = imsg_get(&p->rx, imsg);
		ATF_REQUIRE_MSG(r != -1, "imsg_get: %s", strerror(errno));
		if (r == 1)
			return;
		n = imsgbuf_read(&p->rx);
		ATF_REQUIRE_MSG(n != -1, "no complete message: %s",
		    strerror(errno));
		ATF_REQUIRE_MSG(n != 0, "end of file before a message");
	}
}

/* Nothing more is waiting, neither parsed nor in the socket. */
static void
expect_nothing_more(struct pair *p)
{
	struct imsg	 imsg;

	ATF_REQUIRE_EQ(imsg_get(&p->rx, &imsg), 0);
	ATF_REQUIRE(imsgbuf_read(&p->rx) == -1);
	ATF_REQUIRE_EQ(errno, EAGAIN);
}

static void
write_raw(int fd, const void *buf, size_t len)
{
	ATF_REQUIRE(write(fd, buf, len) == (ssize_t)len);
}

static void
write_header(int fd, uint32_t type, uint32_t len, uint16_t flags)
{
	struct imsg_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.flags = flags;
	hdr.pid = getpid();
	write_raw(fd, &hdr, sizeof(hdr));
}

/* What a pipe end received through imsg carries: read it and compare. */
static void
expect_pipe_carries(int fd, const char *want)
{
	char	 buf[64];
	ssize_t	 n;

	ATF_REQUIRE(fd != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	ATF_REQUIRE_MSG(n != -1, "read through the passed fd: %s",
	    strerror(errno));
	buf[n] = '\0';
	ATF_REQUIRE_STREQ(buf, want);
}

static void
fill(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

ATF_TC_WITHOUT_HEAD(a_message_split_across_many_reads_arrives_whole);
ATF_TC_BODY(a_message_split_across_many_reads_arrives_whole, tc)
{
	struct pair	 p;
	struct imsgbuf	 rx;
	struct imsg	 imsg;
	uint8_t		 payload[64], wire[IMSG_HDRSIZE + sizeof(payload)];
	size_t		 i;
	int		 sv[2], r = -1;

	/* The bytes of one composed message, as the sender writes them. */
	pair_open(&p);
	fill(payload, sizeof(payload), 1);
	ATF_REQUIRE(imsg_compose(&p.tx, 42, 4242, -1, payload,
	    sizeof(payload)) == 0);
	send_all(&p);
	ATF_REQUIRE(read(p.sv[1], wire, sizeof(wire)) ==
	    (ssize_t)sizeof(wire));
	pair_close(&p);

	ATF_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == 0);
	nonblock(sv[1]);
	imsgbuf_init(&rx, sv[1]);
	for (i = 0; i < sizeof(wire); i++) {
		write_raw(sv[0], wire + i, 1);
		ATF_REQUIRE_EQ(imsgbuf_read(&rx), 1);
		r = imsg_get(&rx, &imsg);
		if (i < sizeof(wire) - 1)
			ATF_REQUIRE_EQ_MSG(r, 0, "imsg_get gave %d after "
			    "%zu of %zu bytes", r, i + 1, sizeof(wire));
	}
	ATF_REQUIRE_EQ(r, 1);
	ATF_CHECK_EQ(imsg.hdr.type, 42);
	ATF_CHECK_EQ(imsg.hdr.peerid, 4242);
	ATF_CHECK_EQ(imsg.hdr.pid, (uint32_t)getpid());
	ATF_CHECK_EQ(imsg.fd, -1);
	ATF_REQUIRE_EQ(imsg.len, sizeof(payload));
	ATF_CHECK(memcmp(imsg.data, payload, sizeof(payload)) == 0);
	imsg_free(&imsg);
	ATF_CHECK_EQ(imsg_get(&rx, &imsg), 0);
	imsgbuf_clear(&rx);
	close(sv[0]);
	close(sv[1]);
}

ATF_TC_WITHOUT_HEAD(several_messages_in_one_read_come_out_in_order);
ATF_TC_BODY(several_messages_in_one_read_come_out_in_order, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	uint8_t		 big[1000];

	pair_open(&p);
	fill(big, sizeof(big), 3);
	ATF_REQUIRE(imsg_compose(&p.tx, 1, 10, -1, "one", 3) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 2, 20, -1, NULL, 0) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 3, 30, -1, big, sizeof(big)) == 0);
	send_all(&p);

	ATF_REQUIRE_EQ(imsgbuf_read(&p.rx),
	    (ssize_t)(3 * IMSG_HDRSIZE + 3 + sizeof(big)));

	ATF_REQUIRE_EQ(imsg_get(&p.rx, &imsg), 1);
	ATF_CHECK_EQ(imsg.hdr.type, 1);
	ATF_CHECK_EQ(imsg.hdr.peerid, 10);
	ATF_REQUIRE_EQ(imsg.len, 3);
	ATF_CHECK(memcmp(imsg.data, "one", 3) == 0);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(imsg_get(&p.rx, &imsg), 1);
	ATF_CHECK_EQ(imsg.hdr.type, 2);
	ATF_CHECK_EQ(imsg.hdr.peerid, 20);
	ATF_CHECK_EQ(imsg.len, 0);
	imsg_free(&imsg);

	ATF_REQUIRE_EQ(imsg_get(&p.rx, &imsg), 1);
	ATF_CHECK_EQ(imsg.hdr.type, 3);
	ATF_CHECK_EQ(imsg.hdr.peerid, 30);
	ATF_REQUIRE_EQ(imsg.len, sizeof(big));
	ATF_CHECK(memcmp(imsg.data, big, sizeof(big)) == 0);
	imsg_free(&imsg);

	expect_nothing_more(&p);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(a_descriptor_travels_with_its_message);
ATF_TC_BODY(a_descriptor_travels_with_its_message, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	int		 pp[2];

	pair_open(&p);
	ATF_REQUIRE(pipe2(pp, O_CLOEXEC) == 0);
	/* The queue owns pp[0] from here on and closes it once sent. */
	ATF_REQUIRE(imsg_compose(&p.tx, 5, 50, pp[0], "fd", 2) == 0);
	send_all(&p);

	recv_one(&p, &imsg);
	ATF_CHECK_EQ(imsg.hdr.type, 5);
	ATF_CHECK_EQ(imsg.hdr.peerid, 50);
	ATF_CHECK(imsg.hdr.flags & IMSGF_HASFD);
	ATF_REQUIRE_EQ(imsg.len, 2);
	ATF_CHECK(memcmp(imsg.data, "fd", 2) == 0);
	ATF_REQUIRE_MSG(imsg.fd != -1, "the message came without its fd");

	write_raw(pp[1], "through the pipe", 16);
	expect_pipe_carries(imsg.fd, "through the pipe");
	close(pp[1]);
	/* The writer is gone, so the received end now sees end of file. */
	expect_pipe_carries(imsg.fd, "");
	close(imsg.fd);
	imsg_free(&imsg);
	expect_nothing_more(&p);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(descriptors_stay_matched_to_their_messages);
ATF_TC_BODY(descriptors_stay_matched_to_their_messages, tc)
{
	struct pair	 p;
	struct imsg	 first, middle, last;
	int		 a[2], b[2];

	pair_open(&p);
	ATF_REQUIRE(pipe2(a, O_CLOEXEC) == 0);
	ATF_REQUIRE(pipe2(b, O_CLOEXEC) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 10, 1, a[0], "A", 1) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 11, 2, -1, "none", 4) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 12, 3, b[0], "B", 1) == 0);
	send_all(&p);
	write_raw(a[1], "from A", 6);
	write_raw(b[1], "from B", 6);

	recv_one(&p, &first);
	recv_one(&p, &middle);
	recv_one(&p, &last);
	expect_nothing_more(&p);

	ATF_REQUIRE_EQ(first.hdr.type, 10);
	ATF_REQUIRE_EQ(middle.hdr.type, 11);
	ATF_REQUIRE_EQ(last.hdr.type, 12);
	ATF_CHECK_EQ(middle.fd, -1);
	expect_pipe_carries(first.fd, "from A");
	expect_pipe_carries(last.fd, "from B");

	close(first.fd);
	close(last.fd);
	close(a[1]);
	close(b[1]);
	imsg_free(&first);
	imsg_free(&middle);
	imsg_free(&last);
	pair_close(&p);
}

/*
 * A receiver out of descriptors: the kernel cannot hand one over
 * (MSG_CTRUNC).  Its message still comes, flagged and with fd -1, and
 * the stream goes on in step: the next messages keep their own.
 */
ATF_TC_WITHOUT_HEAD(a_descriptor_that_cannot_be_received_is_lost_alone);
ATF_TC_BODY(a_descriptor_that_cannot_be_received_is_lost_alone, tc)
{
	struct pair	 p;
	struct imsg	 lost, middle, last;
	struct rlimit	 rl, low;
	int		 a[2], b[2], lowest;

	pair_open(&p);
	ATF_REQUIRE(pipe2(a, O_CLOEXEC) == 0);
	ATF_REQUIRE(pipe2(b, O_CLOEXEC) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 10, 1, a[0], "A", 1) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 11, 2, -1, "none", 4) == 0);
	ATF_REQUIRE(imsg_compose(&p.tx, 12, 3, b[0], "B", 1) == 0);
	send_all(&p);
	write_raw(b[1], "from B", 6);

	/* No descriptor below the limit is free. */
	ATF_REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	ATF_REQUIRE((lowest = dup(0)) != -1);
	close(lowest);
	low = rl;
	low.rlim_cur = lowest;
	ATF_REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
	recv_one(&p, &lost);
	ATF_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);

	ATF_REQUIRE_EQ(lost.hdr.type, 10);
	ATF_CHECK(lost.hdr.flags & IMSGF_HASFD);
	ATF_CHECK_EQ(lost.fd, -1);
	ATF_CHECK(imsg_fd_lost(&lost));
	ATF_REQUIRE_EQ(lost.len, 1);
	ATF_CHECK(memcmp(lost.data, "A", 1) == 0);

	recv_one(&p, &middle);
	recv_one(&p, &last);
	expect_nothing_more(&p);
	ATF_REQUIRE_EQ(middle.hdr.type, 11);
	ATF_CHECK_EQ(middle.fd, -1);
	ATF_CHECK(!imsg_fd_lost(&middle));
	ATF_REQUIRE_EQ(last.hdr.type, 12);
	ATF_CHECK(!imsg_fd_lost(&last));
	expect_pipe_carries(last.fd, "from B");

	close(last.fd);
	close(a[1]);
	close(b[1]);
	imsg_free(&lost);
	imsg_free(&middle);
	imsg_free(&last);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(a_header_announcing_an_oversized_payload_is_refused);
ATF_TC_BODY(a_header_announcing_an_oversized_payload_is_refused, tc)
{
	struct pair	 p;
	struct imsg	 imsg;

	/* Right at the limit the reader just waits for the payload. */
	pair_open(&p);
	write_header(p.sv[0], 1, IMSG_MAXPAYLOAD, 0);
	ATF_REQUIRE_EQ(imsgbuf_read(&p.rx), (ssize_t)IMSG_HDRSIZE);
	ATF_REQUIRE_EQ(imsg_get(&p.rx, &imsg), 0);
	pair_close(&p);

	/* One byte more is refused before any payload arrives. */
	pair_open(&p);
	write_header(p.sv[0], 1, IMSG_MAXPAYLOAD + 1, 0);
	ATF_REQUIRE_EQ(imsgbuf_read(&p.rx), (ssize_t)IMSG_HDRSIZE);
	errno = 0;
	ATF_REQUIRE_EQ(imsg_get(&p.rx, &imsg), -1);
	ATF_REQUIRE_EQ(errno, EMSGSIZE);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(a_payload_too_big_to_send_is_refused);
ATF_TC_BODY(a_payload_too_big_to_send_is_refused, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*b;
	uint8_t		*big;
	int		 pp[2];

	ATF_REQUIRE((big = malloc(IMSG_MAXPAYLOAD + 1)) != NULL);
	fill(big, IMSG_MAXPAYLOAD + 1, 5);
	pair_open(&p);

	/* Filled to the limit, then one byte more. */
	b = imsg_create(7, 70, -1);
	imsg_add_data(b, big, IMSG_MAXPAYLOAD);
	imsg_add_u8(b, 1);
	errno = 0;
	ATF_REQUIRE_EQ(imsg_close(&p.tx, b), -1);
	ATF_REQUIRE_EQ(errno, EMSGSIZE);
	ATF_REQUIRE(!imsgbuf_pending(&p.tx));
	ATF_REQUIRE_EQ(p.tx.wqlen, 0);

	/* Too big in one go, carrying an fd: the fd is closed, not sent. */
	ATF_REQUIRE(pipe2(pp, O_CLOEXEC) == 0);
	errno = 0;
	ATF_REQUIRE_EQ(imsg_compose(&p.tx, 7, 71, pp[0], big,
	    IMSG_MAXPAYLOAD + 1), -1);
	ATF_REQUIRE_EQ(errno, EMSGSIZE);
	ATF_REQUIRE(!imsgbuf_pending(&p.tx));
	ATF_REQUIRE_MSG(fcntl(pp[0], F_GETFD) == -1 && errno == EBADF,
	    "the refused message's fd was left open");
	close(pp[1]);
	ATF_REQUIRE(imsgbuf_flush(&p.tx) == 0);
	expect_nothing_more(&p);

	/* Exactly the limit goes through whole. */
	ATF_REQUIRE_EQ(imsg_compose(&p.tx, 7, 72, -1, big,
	    IMSG_MAXPAYLOAD), 0);
	send_all(&p);
	recv_one(&p, &imsg);
	ATF_CHECK_EQ(imsg.hdr.peerid, 72);
	ATF_REQUIRE_EQ(imsg.len, IMSG_MAXPAYLOAD);
	ATF_CHECK(memcmp(imsg.data, big, IMSG_MAXPAYLOAD) == 0);
	imsg_free(&imsg);
	expect_nothing_more(&p);

	pair_close(&p);
	free(big);
}

ATF_TC_WITHOUT_HEAD(a_truncated_payload_fails_imsg_end);
ATF_TC_BODY(a_truncated_payload_fails_imsg_end, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*b;
	uint8_t		 out[8];
	size_t		 i;

	pair_open(&p);
	b = imsg_create(9, 0, -1);
	imsg_add_u32(b, 0xdeadbeef);
	imsg_add_u8(b, 0x5a);
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);
	b = imsg_create(9, 1, -1);
	imsg_add_u8(b, 0x5a);
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);
	send_all(&p);

	/* Five bytes, read as a u32 and then a u64: the u64 is short. */
	recv_one(&p, &imsg);
	ATF_CHECK_EQ(imsg_get_u32(&imsg), 0xdeadbeef);
	ATF_CHECK_EQ(imsg_get_u64(&imsg), 0);
	/* The failure sticks: the byte that is there is not handed out. */
	ATF_CHECK_EQ(imsg_get_u8(&imsg), 0);
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	imsg_free(&imsg);

	/* One byte, read as data of eight: all eight come back zero. */
	recv_one(&p, &imsg);
	memset(out, 0xff, sizeof(out));
	imsg_get_data(&imsg, out, sizeof(out));
	for (i = 0; i < sizeof(out); i++)
		ATF_CHECK_EQ_MSG(out[i], 0, "byte %zu is %#x", i, out[i]);
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	imsg_free(&imsg);

	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(leftover_payload_fails_imsg_end);
ATF_TC_BODY(leftover_payload_fails_imsg_end, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*b;

	pair_open(&p);
	b = imsg_create(9, 0, -1);
	imsg_add_u32(b, 1);
	imsg_add_u64(b, 0x0102030405060708ULL);
	imsg_add_u8(b, 3);
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);
	send_all(&p);

	recv_one(&p, &imsg);
	ATF_CHECK_EQ(imsg_get_u32(&imsg), 1);
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	ATF_CHECK_EQ(imsg_get_u64(&imsg), 0x0102030405060708ULL);
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	ATF_CHECK_EQ(imsg_get_u8(&imsg), 3);
	ATF_CHECK_EQ(imsg_end(&imsg), 0);
	imsg_free(&imsg);
	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(strings_round_trip_and_overlong_or_nul_strings_are_refused);
ATF_TC_BODY(strings_round_trip_and_overlong_or_nul_strings_are_refused, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct ibuf	*b;
	char		 buf[16], small[5], exact[6];

	pair_open(&p);
	b = imsg_create(20, 0, -1);
	imsg_add_string(b, "hello");
	imsg_add_string(b, "");
	imsg_add_u32(b, 7);
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);

	b = imsg_create(21, 0, -1);
	imsg_add_string(b, "hello");
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);

	/* A NUL inside: a length of 3, then "a", NUL, "b". */
	b = imsg_create(22, 0, -1);
	imsg_add_u32(b, 3);
	imsg_add_data(b, "a\0b", 3);
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);

	/* A length that promises more than the payload holds. */
	b = imsg_create(23, 0, -1);
	imsg_add_u32(b, 10);
	imsg_add_data(b, "abc", 3);
	ATF_REQUIRE(imsg_close(&p.tx, b) == 0);
	send_all(&p);

	recv_one(&p, &imsg);
	memset(exact, 'x', sizeof(exact));
	imsg_get_string(&imsg, exact, sizeof(exact));
	ATF_CHECK_STREQ(exact, "hello");
	memset(buf, 'x', sizeof(buf));
	imsg_get_string(&imsg, buf, 1);
	ATF_CHECK_STREQ(buf, "");
	ATF_CHECK_EQ(imsg_get_u32(&imsg), 7);
	ATF_CHECK_EQ(imsg_end(&imsg), 0);
	imsg_free(&imsg);

	recv_one(&p, &imsg);
	memset(small, 'x', sizeof(small));
	imsg_get_string(&imsg, small, sizeof(small));
	ATF_CHECK_EQ_MSG(small[0], '\0', "a cut string came back");
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	imsg_free(&imsg);

	recv_one(&p, &imsg);
	memset(buf, 'x', sizeof(buf));
	imsg_get_string(&imsg, buf, sizeof(buf));
	ATF_CHECK_EQ_MSG(buf[0], '\0', "a string with a NUL came back");
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	imsg_free(&imsg);

	recv_one(&p, &imsg);
	memset(buf, 'x', sizeof(buf));
	imsg_get_string(&imsg, buf, sizeof(buf));
	ATF_CHECK_EQ(buf[0], '\0');
	ATF_CHECK_EQ(imsg_end(&imsg), -1);
	imsg_free(&imsg);

	pair_close(&p);
}

ATF_TC_WITHOUT_HEAD(a_flagged_message_without_a_descriptor_is_a_protocol_error);
ATF_TC_BODY(a_flagged_message_without_a_descriptor_is_a_protocol_error, tc)
{
	struct pair	 p;
	struct imsg	 imsg;

	pair_open(&p);
	write_header(p.sv[0], 5, 2, IMSGF_HASFD);
	write_raw(p.sv[0], "fd", 2);
	ATF_REQUIRE_EQ(imsgbuf_read(&p.rx), (ssize_t)IMSG_HDRSIZE + 2);
	errno = 0;
	ATF_REQUIRE_EQ(imsg_get(&p.rx, &imsg), -1);
	ATF_REQUIRE_EQ(errno, EBADMSG);
	pair_close(&p);
}

/* Send raw bytes with a descriptor attached, whatever the header says. */
static void
sendmsg_with_fd(int sock, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	ATF_REQUIRE(sendmsg(sock, &msg, 0) == (ssize_t)len);
}

/*
 * A peer that attaches a descriptor to a message not flagged for one
 * must not shift descriptors onto the messages after it.
 */
ATF_TC_WITHOUT_HEAD(a_descriptor_on_an_unflagged_message_is_refused);
ATF_TC_BODY(a_descriptor_on_an_unflagged_message_is_refused, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	struct imsg_hdr	 hdr;
	int		 a[2], b[2], r;

	pair_open(&p);
	ATF_REQUIRE(pipe(a) == 0 && pipe(b) == 0);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 7;
	sendmsg_with_fd(p.sv[0], &hdr, sizeof(hdr), a[0]);
	ATF_REQUIRE(imsg_compose(&p.tx, 8, 0, b[0], NULL, 0) == 0);
	send_all(&p);
	for (;;) {
		r = imsg_get(&p.rx, &imsg);
		if (r != 0)
			break;
		ATF_REQUIRE(imsgbuf_read(&p.rx) > 0);
	}
	ATF_REQUIRE_EQ(r, -1);
	ATF_REQUIRE_EQ(errno, EBADMSG);
	close(a[0]);
	close(a[1]);
	close(b[1]);
	pair_close(&p);
}

/*
 * Messages bigger than the send buffer, so that the socket takes some
 * of them only in part and the rest of each must follow in order.
 */
#define FULL_COUNT	40
#define FULL_SIZE	5000

ATF_TC_WITHOUT_HEAD(a_full_socket_keeps_the_rest_queued);
ATF_TC_BODY(a_full_socket_keeps_the_rest_queued, tc)
{
	struct pair	 p;
	struct imsg	 imsg;
	uint8_t		 payload[FULL_SIZE];
	ssize_t		 n;
	int		 i, r, got = 0, rounds = 0, sndbuf = 4096;

	pair_open(&p);
	nonblock(p.sv[0]);
	ATF_REQUIRE(setsockopt(p.sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)) == 0);
	for (i = 0; i < FULL_COUNT; i++) {
		fill(payload, sizeof(payload), i);
		ATF_REQUIRE(imsg_compose(&p.tx, 100 + i, i, -1, payload,
		    sizeof(payload)) == 0);
	}
	ATF_REQUIRE_EQ(p.tx.wqlen, FULL_COUNT);

	ATF_REQUIRE(imsgbuf_flush(&p.tx) == 0);
	ATF_REQUIRE_MSG(imsgbuf_pending(&p.tx),
	    "a small send buffer took %d messages of %d bytes",
	    FULL_COUNT, FULL_SIZE);
	ATF_REQUIRE(p.tx.wqlen > 0 && p.tx.wqlen < FULL_COUNT);

	while (got < FULL_COUNT) {
		ATF_REQUIRE_MSG(++rounds < 10000, "no progress after %d "
		    "rounds, %d messages in", rounds, got);
		n = imsgbuf_read(&p.rx);
		if (n == -1) {
			ATF_REQUIRE_EQ(errno, EAGAIN);
			ATF_REQUIRE_MSG(imsgbuf_pending(&p.tx), "%d of %d "
			    "messages came and nothing is left to send",
			    got, FULL_COUNT);
		} else
			ATF_REQUIRE_MSG(n > 0, "end of file after %d messages",
			    got);
		while ((r = imsg_get(&p.rx, &imsg)) == 1) {
			ATF_REQUIRE_MSG(got < FULL_COUNT, "an extra message");
			ATF_REQUIRE_EQ(imsg.hdr.type, (uint32_t)(100 + got));
			ATF_REQUIRE_EQ(imsg.hdr.peerid, (uint32_t)got);
			ATF_REQUIRE_EQ(imsg.len, FULL_SIZE);
			fill(payload, sizeof(payload), got);
			ATF_REQUIRE_MSG(memcmp(imsg.data, payload,
			    sizeof(payload)) == 0, "message %d is garbled",
			    got);
			imsg_free(&imsg);
			got++;
		}
		ATF_REQUIRE_EQ(r, 0);
		ATF_REQUIRE(imsgbuf_flush(&p.tx) == 0);
	}
	ATF_CHECK(!imsgbuf_pending(&p.tx));
	ATF_CHECK_EQ(p.tx.wqlen, 0);
	expect_nothing_more(&p);
	pair_close(&p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, a_message_split_across_many_reads_arrives_whole);
	ATF_TP_ADD_TC(tp, several_messages_in_one_read_come_out_in_order);
	ATF_TP_ADD_TC(tp, a_descriptor_travels_with_its_message);
	ATF_TP_ADD_TC(tp, descriptors_stay_matched_to_their_messages);
	ATF_TP_ADD_TC(tp, a_descriptor_that_cannot_be_received_is_lost_alone);
	ATF_TP_ADD_TC(tp, a_header_announcing_an_oversized_payload_is_refused);
	ATF_TP_ADD_TC(tp, a_payload_too_big_to_send_is_refused);
	ATF_TP_ADD_TC(tp, a_truncated_payload_fails_imsg_end);
	ATF_TP_ADD_TC(tp, leftover_payload_fails_imsg_end);
	ATF_TP_ADD_TC(tp,
	    strings_round_trip_and_overlong_or_nul_strings_are_refused);
	ATF_TP_ADD_TC(tp,
	    a_flagged_message_without_a_descriptor_is_a_protocol_error);
	ATF_TP_ADD_TC(tp, a_descriptor_on_an_unflagged_message_is_refused);
	ATF_TP_ADD_TC(tp, a_full_socket_keeps_the_rest_queued);
	return atf_no_error();
}
