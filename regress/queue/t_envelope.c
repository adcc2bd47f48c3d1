/*
 * The envelope text format: what dump writes, load reads back the
 * same, whatever the values hold; dump refuses a value that could
 * start a line of its own, and load refuses any file that is not
 * exactly what dump would write.  Also the report written from an
 * envelope (queue_bounce.c): no field of it can break a line.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <atf-c.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"

#define TEXTMAX		8192

/* The string fields, to try each one in turn. */
struct sfield {
	const char	*key;
	size_t		 off;
	size_t		 size;
};

#define SF(m)	{ #m, offsetof(struct envelope, m), \
		    sizeof(((struct envelope *)0)->m) }
#define SFK(k, m) { k, offsetof(struct envelope, m), \
		    sizeof(((struct envelope *)0)->m) }

static const struct sfield sfields[] = {
	SF(sender), SF(rcpt), SF(action), SF(user), SF(target), SF(helo),
	SF(client), SF(lasterr), SFK("dsn-ret", dsn_ret),
	SFK("dsn-envid", dsn_envid), SFK("dsn-notify", dsn_notify),
	SFK("dsn-orcpt", dsn_orcpt),
};
#define NSFIELDS	(sizeof(sfields) / sizeof(sfields[0]))

static const char *const allkeys[] = {
	"id", "sender", "rcpt", "action", "user", "target", "helo", "client",
	"created", "tries", "lasterr", "dsn-ret", "dsn-envid", "dsn-notify",
	"dsn-orcpt", "warned",
};
#define NKEYS		(sizeof(allkeys) / sizeof(allkeys[0]))

static char *
sfield_ptr(struct envelope *e, const struct sfield *sf)
{
	return (char *)e + sf->off;
}

static void
env_ordinary(struct envelope *e)
{
	memset(e, 0, sizeof(*e));
	e->id = 0x0123456789abcdefULL;
	strlcpy(e->sender, "alice@example.org", sizeof(e->sender));
	strlcpy(e->rcpt, "bob@example.net", sizeof(e->rcpt));
	strlcpy(e->action, "relay", sizeof(e->action));
	strlcpy(e->user, "bob", sizeof(e->user));
	strlcpy(e->target, "bob@example.net", sizeof(e->target));
	strlcpy(e->helo, "mail.example.org", sizeof(e->helo));
	strlcpy(e->client, "192.0.2.1", sizeof(e->client));
	e->created = 1700000000;
	e->tries = 3;
	strlcpy(e->lasterr, "451 4.3.0 try again later", sizeof(e->lasterr));
	strlcpy(e->dsn_ret, "HDRS", sizeof(e->dsn_ret));
	strlcpy(e->dsn_envid, "QQ314159", sizeof(e->dsn_envid));
	strlcpy(e->dsn_notify, "SUCCESS,FAILURE", sizeof(e->dsn_notify));
	strlcpy(e->dsn_orcpt, "rfc822;bob@example.net", sizeof(e->dsn_orcpt));
	e->warned = 1;
}

static void
env_check_equal(const struct envelope *a, const struct envelope *b)
{
	ATF_CHECK_EQ_MSG(a->id, b->id, "id %016" PRIx64 " != %016" PRIx64,
	    a->id, b->id);
	ATF_CHECK_STREQ(a->sender, b->sender);
	ATF_CHECK_STREQ(a->rcpt, b->rcpt);
	ATF_CHECK_STREQ(a->action, b->action);
	ATF_CHECK_STREQ(a->user, b->user);
	ATF_CHECK_STREQ(a->target, b->target);
	ATF_CHECK_STREQ(a->helo, b->helo);
	ATF_CHECK_STREQ(a->client, b->client);
	ATF_CHECK_EQ_MSG(a->created, b->created, "created %" PRId64
	    " != %" PRId64, a->created, b->created);
	ATF_CHECK_EQ_MSG(a->tries, b->tries, "tries %" PRIu32 " != %" PRIu32,
	    a->tries, b->tries);
	ATF_CHECK_STREQ(a->lasterr, b->lasterr);
	ATF_CHECK_STREQ(a->dsn_ret, b->dsn_ret);
	ATF_CHECK_STREQ(a->dsn_envid, b->dsn_envid);
	ATF_CHECK_STREQ(a->dsn_notify, b->dsn_notify);
	ATF_CHECK_STREQ(a->dsn_orcpt, b->dsn_orcpt);
	ATF_CHECK_EQ(a->warned, b->warned);
}

static void
round_trip(const struct envelope *e)
{
	struct envelope	 got;
	char		 text[TEXTMAX], err[256] = "";
	int		 n;

	n = envelope_dump(e, text, sizeof(text));
	ATF_REQUIRE_MSG(n > 0, "dump refused");
	ATF_CHECK_EQ((size_t)n, strlen(text));
	if (envelope_load(&got, text, err, sizeof(err)) != 0)
		atf_tc_fail("load of dumped text: %s\n%s", err, text);
	env_check_equal(e, &got);
}

/* The text of an ordinary envelope. */
static void
text_ordinary(char *text, size_t len)
{
	struct envelope	 e;

	env_ordinary(&e);
	ATF_REQUIRE(envelope_dump(&e, text, len) > 0);
}

/*
 * Replace the line of key (the first line whose text starts with
 * "key ") with line, or drop it if line is NULL.  line has no newline.
 */
static void
text_set_line(char *text, size_t len, const char *key, const char *line)
{
	char	 out[TEXTMAX], *p, *end;
	size_t	 klen = strlen(key);

	for (p = text;; p = end + 1) {
		ATF_REQUIRE_MSG(*p != '\0', "no line for %s", key);
		ATF_REQUIRE((end = strchr(p, '\n')) != NULL);
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			break;
	}
	end++;
	ATF_REQUIRE(snprintf(out, sizeof(out), "%.*s%s%s%s", (int)(p - text),
	    text, line != NULL ? line : "", line != NULL ? "\n" : "", end) <
	    (int)sizeof(out));
	ATF_REQUIRE(strlcpy(text, out, len) < len);
}

/* Load must refuse text and say something about why. */
static void
load_refuses(const char *text, const char *what)
{
	struct envelope	 e;
	char		 err[256] = "";

	if (envelope_load(&e, text, err, sizeof(err)) != -1)
		ATF_CHECK_MSG(0, "%s: loaded", what);
	else
		ATF_CHECK_MSG(err[0] != '\0', "%s: refused without a reason",
		    what);
}

/* An ordinary text with one line changed must be refused. */
static void
load_refuses_line(const char *key, const char *line)
{
	char	 text[TEXTMAX];

	text_ordinary(text, sizeof(text));
	text_set_line(text, sizeof(text), key, line);
	load_refuses(text, line != NULL ? line : key);
}

/* An ordinary text with one line changed must load. */
static void
load_accepts_line(const char *key, const char *line, struct envelope *e)
{
	char	 text[TEXTMAX], err[256] = "";

	text_ordinary(text, sizeof(text));
	text_set_line(text, sizeof(text), key, line);
	if (envelope_load(e, text, err, sizeof(err)) != 0)
		atf_tc_fail("%s: %s", line, err);
}

ATF_TC_WITHOUT_HEAD(round_trip_ordinary);
ATF_TC_BODY(round_trip_ordinary, tc)
{
	struct envelope	 e;
	char		 text[TEXTMAX];

	env_ordinary(&e);
	round_trip(&e);

	/* The format as documented, line by line. */
	ATF_REQUIRE(envelope_dump(&e, text, sizeof(text)) > 0);
	ATF_CHECK_STREQ(text,
	    "version 1\n"
	    "id 0123456789abcdef\n"
	    "sender alice@example.org\n"
	    "rcpt bob@example.net\n"
	    "action relay\n"
	    "user bob\n"
	    "target bob@example.net\n"
	    "helo mail.example.org\n"
	    "client 192.0.2.1\n"
	    "created 1700000000\n"
	    "tries 3\n"
	    "lasterr 451 4.3.0 try again later\n"
	    "dsn-ret HDRS\n"
	    "dsn-envid QQ314159\n"
	    "dsn-notify SUCCESS,FAILURE\n"
	    "dsn-orcpt rfc822;bob@example.net\n"
	    "warned 1\n");
}

/* The host of a relayed reply: written only when known, read back. */
ATF_TC_WITHOUT_HEAD(round_trip_remote_mta);
ATF_TC_BODY(round_trip_remote_mta, tc)
{
	struct envelope	 e, back;
	char		 text[TEXTMAX], err[256];
	int		 n;

	env_ordinary(&e);
	strlcpy(e.remote_mta, "mx1.example.net", sizeof(e.remote_mta));
	round_trip(&e);
	ATF_REQUIRE((n = envelope_dump(&e, text, sizeof(text))) > 0);
	ATF_CHECK(strstr(text, "\nremote-mta mx1.example.net\n") != NULL);
	strlcpy(e.remote_mta, "mx1\r\nwarned 1", sizeof(e.remote_mta));
	ATF_CHECK_EQ(envelope_dump(&e, text, sizeof(text)), -1);
	env_ordinary(&e);
	ATF_REQUIRE(envelope_dump(&e, text, sizeof(text)) > 0);
	ATF_CHECK(strstr(text, "remote-mta") == NULL);
	ATF_REQUIRE_EQ(envelope_load(&back, text, err, sizeof(err)), 0);
	ATF_CHECK_STREQ(back.remote_mta, "");
}

ATF_TC_WITHOUT_HEAD(round_trip_number_limits);
ATF_TC_BODY(round_trip_number_limits, tc)
{
	struct envelope	 e;

	char		 text[TEXTMAX];

	env_ordinary(&e);
	e.id = UINT64_MAX;
	e.created = ENVELOPE_TIME_MAX;
	e.tries = UINT32_MAX;
	round_trip(&e);

	e.id = 1;
	e.created = 0;
	e.tries = 0;
	round_trip(&e);

	/* A time whose age or expiry would overflow is never written. */
	e.created = -1;
	ATF_CHECK_EQ(envelope_dump(&e, text, sizeof(text)), -1);
	e.created = ENVELOPE_TIME_MAX + 1;
	ATF_CHECK_EQ(envelope_dump(&e, text, sizeof(text)), -1);
	e.created = INT64_MIN;
	ATF_CHECK_EQ(envelope_dump(&e, text, sizeof(text)), -1);
}

ATF_TC_WITHOUT_HEAD(round_trip_hostile_values);
ATF_TC_BODY(round_trip_hostile_values, tc)
{
	static const char *const hostile[] = {
		"",
		" ",
		"\t",
		"two words",
		"  leading spaces",
		"trailing spaces  ",
		"  both  ",
		"\ttabs\tinside\t",
		"rcpt evil@example.org",
		"version 2",
		"id 0000000000000001",
		"tries 4294967295",
		"lasterr ",
		"sender rcpt action",
		"# not a comment",
		"j\xc3\xbcrgen@ex\xc3\xa4mple.org",
		"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9"
		    "\xbf\xe5\x91\x8a",
		"\xf0\x9f\x93\xa7 mail",
		"back\\slash \\n not a newline",
		"%s%n%x",
	};
	struct envelope	 e;
	size_t		 i, j;

	for (i = 0; i < NSFIELDS; i++)
		for (j = 0; j < sizeof(hostile) / sizeof(hostile[0]); j++) {
			env_ordinary(&e);
			strlcpy(sfield_ptr(&e, &sfields[i]), hostile[j],
			    sfields[i].size);
			round_trip(&e);
		}

	/* Every string field hostile at once. */
	env_ordinary(&e);
	for (i = 0; i < NSFIELDS; i++)
		strlcpy(sfield_ptr(&e, &sfields[i]), hostile[i + 8],
		    sfields[i].size);
	round_trip(&e);
}

ATF_TC_WITHOUT_HEAD(round_trip_empty_sender);
ATF_TC_BODY(round_trip_empty_sender, tc)
{
	struct envelope	 e, got;
	char		 text[TEXTMAX], err[256] = "";

	env_ordinary(&e);
	e.sender[0] = '\0';
	ATF_REQUIRE(envelope_dump(&e, text, sizeof(text)) > 0);
	ATF_CHECK(strstr(text, "\nsender \n") != NULL);
	memset(&got, 'x', sizeof(got));
	if (envelope_load(&got, text, err, sizeof(err)) != 0)
		atf_tc_fail("%s", err);
	ATF_CHECK_STREQ(got.sender, "");
	env_check_equal(&e, &got);
}

ATF_TC_WITHOUT_HEAD(round_trip_max_length_fields);
ATF_TC_BODY(round_trip_max_length_fields, tc)
{
	struct envelope	 e;
	char		*p;
	size_t		 i;

	/* One field at a time, then all of them. */
	for (i = 0; i < NSFIELDS; i++) {
		env_ordinary(&e);
		p = sfield_ptr(&e, &sfields[i]);
		memset(p, 'a' + i, sfields[i].size - 1);
		p[sfields[i].size - 1] = '\0';
		round_trip(&e);
	}
	env_ordinary(&e);
	for (i = 0; i < NSFIELDS; i++) {
		p = sfield_ptr(&e, &sfields[i]);
		memset(p, ' ', sfields[i].size - 1);
		p[sfields[i].size - 1] = '\0';
	}
	e.id = UINT64_MAX;
	e.created = ENVELOPE_TIME_MAX;
	e.tries = UINT32_MAX;
	round_trip(&e);
}

/*
 * What the scheduler keeps in memory: every field back as it was, with
 * every string as long as its field allows, in a few hundred bytes for
 * an ordinary envelope.
 */
ATF_TC_WITHOUT_HEAD(pack_round_trip);
ATF_TC_BODY(pack_round_trip, tc)
{
	struct envelope	 e, got;
	char		*packed, *p;
	size_t		 i, len;

	env_ordinary(&e);
	ATF_REQUIRE((packed = envelope_pack(&e, &len)) != NULL);
	ATF_CHECK_MSG(len < 512, "an ordinary envelope packs into %zu bytes",
	    len);
	memset(&got, 'x', sizeof(got));
	ATF_REQUIRE(envelope_unpack(&got, packed, len) == 0);
	ATF_CHECK(memcmp(&e, &got, sizeof(e)) == 0);
	free(packed);

	memset(&e, 0, sizeof(e));
	for (i = 0; i < NSFIELDS; i++) {
		p = sfield_ptr(&e, &sfields[i]);
		memset(p, 'a' + i, sfields[i].size - 1);
	}
	memset(e.remote_mta, 'z', sizeof(e.remote_mta) - 1);
	e.id = UINT64_MAX;
	e.created = INT64_MAX;
	e.tries = UINT32_MAX;
	e.warned = UINT32_MAX;
	ATF_REQUIRE((packed = envelope_pack(&e, &len)) != NULL);
	ATF_REQUIRE(envelope_unpack(&got, packed, len) == 0);
	ATF_CHECK(memcmp(&e, &got, sizeof(e)) == 0);
	free(packed);
}

/* Unpack takes exactly what pack made: nothing cut, nothing more. */
ATF_TC_WITHOUT_HEAD(unpack_refuses_other_lengths);
ATF_TC_BODY(unpack_refuses_other_lengths, tc)
{
	struct envelope	 e, got;
	char		*packed, *longer;
	size_t		 len, n;

	env_ordinary(&e);
	ATF_REQUIRE((packed = envelope_pack(&e, &len)) != NULL);
	for (n = 0; n < len; n++)
		ATF_CHECK_MSG(envelope_unpack(&got, packed, n) == -1,
		    "unpacked from %zu of %zu bytes", n, len);
	ATF_REQUIRE((longer = malloc(len + 1)) != NULL);
	memcpy(longer, packed, len);
	longer[len] = '\0';
	ATF_CHECK(envelope_unpack(&got, longer, len + 1) == -1);
	free(longer);
	free(packed);
}

ATF_TC_WITHOUT_HEAD(dump_refuses_cr_lf);
ATF_TC_BODY(dump_refuses_cr_lf, tc)
{
	static const char *const bad[] = {
		"\n", "\r", "\r\n", "\nleading", "\rleading", "trailing\n",
		"trailing\r", "in\nside", "in\rside", "a\r\nb",
	};
	struct envelope	 e;
	char		 text[TEXTMAX], *p;
	size_t		 i, j;

	for (i = 0; i < NSFIELDS; i++) {
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			env_ordinary(&e);
			strlcpy(sfield_ptr(&e, &sfields[i]), bad[j],
			    sfields[i].size);
			ATF_CHECK_EQ_MSG(envelope_dump(&e, text, sizeof(text)),
			    -1, "%s with %zu accepted", sfields[i].key, j);
		}
		/* The very last byte of a full field. */
		env_ordinary(&e);
		p = sfield_ptr(&e, &sfields[i]);
		memset(p, 'x', sfields[i].size - 2);
		p[sfields[i].size - 2] = '\n';
		p[sfields[i].size - 1] = '\0';
		ATF_CHECK_EQ_MSG(envelope_dump(&e, text, sizeof(text)), -1,
		    "%s ending in LF accepted", sfields[i].key);
	}
}

ATF_TC_WITHOUT_HEAD(dump_refuses_unterminated_field);
ATF_TC_BODY(dump_refuses_unterminated_field, tc)
{
	struct envelope	 e;
	char		 text[TEXTMAX];
	size_t		 i;

	for (i = 0; i < NSFIELDS; i++) {
		env_ordinary(&e);
		memset(sfield_ptr(&e, &sfields[i]), 'x', sfields[i].size);
		ATF_CHECK_EQ_MSG(envelope_dump(&e, text, sizeof(text)), -1,
		    "unterminated %s accepted", sfields[i].key);
	}
}

ATF_TC_WITHOUT_HEAD(dump_refuses_short_buffer);
ATF_TC_BODY(dump_refuses_short_buffer, tc)
{
	struct envelope	 e;
	char		 text[TEXTMAX], small[TEXTMAX];
	int		 n;
	size_t		 len;

	env_ordinary(&e);
	ATF_REQUIRE((n = envelope_dump(&e, text, sizeof(text))) > 0);
	for (len = 1; len <= (size_t)n; len++)
		ATF_CHECK_EQ_MSG(envelope_dump(&e, small, len), -1,
		    "dump into %zu bytes of %d", len, n);
	ATF_CHECK_EQ(envelope_dump(&e, small, n + 1), n);
	ATF_CHECK_STREQ(small, text);
}

/* A "\nrcpt evil" in any field cannot reach the file. */
ATF_TC_WITHOUT_HEAD(dump_refuses_injected_line);
ATF_TC_BODY(dump_refuses_injected_line, tc)
{
	static const char *const inject[] = {
		"alice@example.org\nrcpt evil@example.org",
		"x\nrcpt evil@example.org\n",
		"x\r\nrcpt evil@example.org",
		"x\rrcpt evil@example.org",
		"\nversion 1",
		"x\nid 0000000000000001",
	};
	struct envelope	 e;
	char		 text[TEXTMAX];
	size_t		 i, j;

	for (i = 0; i < NSFIELDS; i++)
		for (j = 0; j < sizeof(inject) / sizeof(inject[0]); j++) {
			env_ordinary(&e);
			strlcpy(sfield_ptr(&e, &sfields[i]), inject[j],
			    sfields[i].size);
			memset(text, 0, sizeof(text));
			ATF_CHECK_EQ_MSG(envelope_dump(&e, text, sizeof(text)),
			    -1, "%s injection %zu accepted", sfields[i].key,
			    j);
			ATF_CHECK_MSG(strstr(text, "rcpt evil") == NULL,
			    "%s injection %zu written", sfields[i].key, j);
		}

	/* And were such a file made by hand, load would refuse it. */
	load_refuses_line("sender",
	    "sender alice@example.org\nrcpt evil@example.org");
}

ATF_TC_WITHOUT_HEAD(load_refuses_bad_version);
ATF_TC_BODY(load_refuses_bad_version, tc)
{
	char	 text[TEXTMAX], moved[TEXTMAX];

	load_refuses_line("version", NULL);
	load_refuses_line("version", "version 2");
	load_refuses_line("version", "version 0");
	load_refuses_line("version", "version 10");
	load_refuses_line("version", "version 1 ");
	load_refuses_line("version", "version  1");
	load_refuses_line("version", "version");
	load_refuses_line("version", "Version 1");

	/* The version must come first. */
	text_ordinary(text, sizeof(text));
	text_set_line(text, sizeof(text), "version", NULL);
	ATF_REQUIRE(snprintf(moved, sizeof(moved), "%sversion 1\n", text) <
	    (int)sizeof(moved));
	load_refuses(moved, "version last");

	load_refuses("", "empty text");
	load_refuses("version 1\n", "version only");
}

ATF_TC_WITHOUT_HEAD(load_refuses_unknown_key);
ATF_TC_BODY(load_refuses_unknown_key, tc)
{
	char	 text[TEXTMAX];

	text_ordinary(text, sizeof(text));
	ATF_REQUIRE(strlcat(text, "color red\n", sizeof(text)) <
	    sizeof(text));
	load_refuses(text, "unknown key at the end");

	load_refuses_line("lasterr", "lasterr x\nversion 1");
	load_refuses_line("user", "User bob");
	load_refuses_line("user", "user\tbob");
	load_refuses_line("user", " user bob");
	load_refuses_line("user", "");
}

ATF_TC_WITHOUT_HEAD(load_refuses_repeated_key);
ATF_TC_BODY(load_refuses_repeated_key, tc)
{
	char	 text[TEXTMAX], line[128];
	size_t	 i;

	text_ordinary(text, sizeof(text));
	ATF_REQUIRE(strlcat(text, "rcpt evil@example.org\n", sizeof(text)) <
	    sizeof(text));
	load_refuses(text, "second rcpt");

	/* Each key given twice, the copy straight after the original. */
	for (i = 0; i < NKEYS; i++) {
		text_ordinary(text, sizeof(text));
		if (strcmp(allkeys[i], "id") == 0)
			snprintf(line, sizeof(line),
			    "id 0000000000000002\nid 0000000000000002");
		else if (strcmp(allkeys[i], "created") == 0)
			snprintf(line, sizeof(line), "created 1\ncreated 1");
		else if (strcmp(allkeys[i], "tries") == 0)
			snprintf(line, sizeof(line), "tries 1\ntries 1");
		else
			snprintf(line, sizeof(line), "%s x\n%s x", allkeys[i],
			    allkeys[i]);
		load_refuses_line(allkeys[i], line);
	}
}

ATF_TC_WITHOUT_HEAD(load_refuses_missing_key);
ATF_TC_BODY(load_refuses_missing_key, tc)
{
	struct envelope	 e;
	char		 text[TEXTMAX], err[256];
	size_t		 i;

	for (i = 0; i < NKEYS; i++) {
		text_ordinary(text, sizeof(text));
		text_set_line(text, sizeof(text), allkeys[i], NULL);
		err[0] = '\0';
		ATF_CHECK_EQ_MSG(envelope_load(&e, text, err, sizeof(err)),
		    -1, "loaded without %s", allkeys[i]);
		ATF_CHECK_MSG(strstr(err, allkeys[i]) != NULL,
		    "error \"%s\" does not name %s", err, allkeys[i]);
	}
}

ATF_TC_WITHOUT_HEAD(load_refuses_bad_id);
ATF_TC_BODY(load_refuses_bad_id, tc)
{
	struct envelope	 e;

	load_refuses_line("id", "id 000000000000000g");
	load_refuses_line("id", "id g000000000000000");
	load_refuses_line("id", "id 00000000 0000001");
	load_refuses_line("id", "id 0x00000000000001");
	load_refuses_line("id", "id 0X00000000000001");
	load_refuses_line("id", "id -000000000000001");
	load_refuses_line("id", "id +000000000000001");
	load_refuses_line("id", "id  000000000000001");
	load_refuses_line("id", "id \t000000000000001");
	load_refuses_line("id", "id \t-00000000000001");
	/* Wrong lengths. */
	load_refuses_line("id", "id ");
	load_refuses_line("id", "id 1");
	load_refuses_line("id", "id 000000000000001");
	load_refuses_line("id", "id 00000000000000001");
	load_refuses_line("id", "id 10000000000000000");
	/* Zero. */
	load_refuses_line("id", "id 0000000000000000");

	/* Upper-case hex is still hex. */
	load_accepts_line("id", "id 0123456789ABCDEF", &e);
	ATF_CHECK_EQ(e.id, 0x0123456789abcdefULL);
	load_accepts_line("id", "id 0000000000000001", &e);
	ATF_CHECK_EQ(e.id, 1);
	load_accepts_line("id", "id ffffffffffffffff", &e);
	ATF_CHECK_EQ(e.id, UINT64_MAX);
}

ATF_TC_WITHOUT_HEAD(load_refuses_bad_tries);
ATF_TC_BODY(load_refuses_bad_tries, tc)
{
	struct envelope	 e;

	load_refuses_line("tries", "tries -1");
	load_refuses_line("tries", "tries -0");
	load_refuses_line("tries", "tries 4294967296");
	load_refuses_line("tries", "tries 18446744073709551615");
	load_refuses_line("tries", "tries 18446744073709551616");
	load_refuses_line("tries", "tries 99999999999999999999999");
	load_refuses_line("tries", "tries ");
	load_refuses_line("tries", "tries +1");
	load_refuses_line("tries", "tries  1");
	load_refuses_line("tries", "tries \t1");
	load_refuses_line("tries", "tries 1 ");
	load_refuses_line("tries", "tries 1x");
	load_refuses_line("tries", "tries 0x10");
	load_refuses_line("tries", "tries \t-1");

	load_accepts_line("tries", "tries 4294967295", &e);
	ATF_CHECK_EQ(e.tries, UINT32_MAX);
	load_accepts_line("tries", "tries 0", &e);
	ATF_CHECK_EQ(e.tries, 0);
}

ATF_TC_WITHOUT_HEAD(load_refuses_bad_created);
ATF_TC_BODY(load_refuses_bad_created, tc)
{
	struct envelope	 e;

	load_refuses_line("created", "created ");
	load_refuses_line("created", "created abc");
	load_refuses_line("created", "created 12abc");
	load_refuses_line("created", "created +1");
	load_refuses_line("created", "created  1");
	load_refuses_line("created", "created \t1");
	load_refuses_line("created", "created -");
	load_refuses_line("created", "created 1.5");
	load_refuses_line("created", "created 9223372036854775808");
	load_refuses_line("created", "created -9223372036854775809");
	load_refuses_line("created", "created 99999999999999999999");

	/* Nor one whose age or expiry would overflow (queue_dsn.c). */
	load_refuses_line("created", "created -9223372036854775808");
	load_refuses_line("created", "created 9223372036854775807");
	load_refuses_line("created", "created -5");
	load_refuses_line("created", "created 253402300800");

	load_accepts_line("created", "created 0", &e);
	ATF_CHECK_EQ(e.created, 0);
	load_accepts_line("created", "created 253402300799", &e);
	ATF_CHECK_EQ(e.created, ENVELOPE_TIME_MAX);
}

ATF_TC_WITHOUT_HEAD(load_refuses_value_too_long);
ATF_TC_BODY(load_refuses_value_too_long, tc)
{
	struct envelope	 e;
	char		 line[TEXTMAX];
	size_t		 i, klen;

	for (i = 0; i < NSFIELDS; i++) {
		/* One byte too many. */
		klen = strlen(sfields[i].key);
		memcpy(line, sfields[i].key, klen);
		line[klen] = ' ';
		memset(line + klen + 1, 'v', sfields[i].size);
		line[klen + 1 + sfields[i].size] = '\0';
		load_refuses_line(sfields[i].key, line);

		/* Exactly the most the field holds. */
		line[klen + sfields[i].size] = '\0';
		load_accepts_line(sfields[i].key, line, &e);
		ATF_CHECK_EQ(strlen(sfield_ptr(&e, &sfields[i])),
		    sfields[i].size - 1);
	}
}

ATF_TC_WITHOUT_HEAD(load_refuses_last_line_unterminated);
ATF_TC_BODY(load_refuses_last_line_unterminated, tc)
{
	struct envelope	 e;
	char		 text[TEXTMAX], err[256] = "";
	size_t		 len;

	text_ordinary(text, sizeof(text));
	len = strlen(text);
	ATF_REQUIRE(len > 0 && text[len - 1] == '\n');
	text[len - 1] = '\0';
	ATF_CHECK_EQ(envelope_load(&e, text, err, sizeof(err)), -1);
	ATF_CHECK_MSG(strstr(err, "newline") != NULL, "error \"%s\"", err);

	/* Cut anywhere inside the last line. */
	text[len - 5] = '\0';
	load_refuses(text, "cut last line");
	load_refuses("version 1", "version without newline");
}

ATF_TC_WITHOUT_HEAD(load_refuses_crlf_lines);
ATF_TC_BODY(load_refuses_crlf_lines, tc)
{
	load_refuses_line("version", "version 1\r");
	load_refuses_line("tries", "tries 3\r");
	load_refuses_line("id", "id 0123456789abcdef\r");
	load_refuses_line("lasterr", "lasterr 451 later\r");
	load_refuses_line("sender", "sender a\r@example.org");
	load_refuses_line("dsn-orcpt", "dsn-orcpt \rrfc822;b@example.net");
}

/*
 * Whatever dump refuses to write, load refuses to read: a CR in any
 * string value, where the fuzzer first found one.
 */
ATF_TC_WITHOUT_HEAD(load_refuses_cr_in_value);
ATF_TC_BODY(load_refuses_cr_in_value, tc)
{
	static const char *const bad[] = {
		"\r", "\rleading", "trailing\r", "in\rside", "two\r\rCRs",
		"\xff\xff\xff\xff\xff\xff\xff\r", "x\rrcpt evil@example.org",
	};
	char	 line[256];
	size_t	 i, j;

	for (i = 0; i < NSFIELDS; i++)
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			snprintf(line, sizeof(line), "%s %s", sfields[i].key,
			    bad[j]);
			load_refuses_line(sfields[i].key, line);
		}
}

/* Whatever load refuses to read, dump refuses to write: an id of 0. */
ATF_TC_WITHOUT_HEAD(dump_refuses_zero_id);
ATF_TC_BODY(dump_refuses_zero_id, tc)
{
	struct envelope	 e;
	char		 text[TEXTMAX];

	env_ordinary(&e);
	e.id = 0;
	ATF_CHECK_EQ(envelope_dump(&e, text, sizeof(text)), -1);
}

/*
 * What load accepts, in whatever form, dump writes and load reads back
 * the same: numbers with leading zeros or upper-case hex, values with
 * every octet but CR, LF and NUL.
 */
ATF_TC_WITHOUT_HEAD(load_accepted_dumps_and_reloads);
ATF_TC_BODY(load_accepted_dumps_and_reloads, tc)
{
	static const char *const forms[][2] = {
		{ "tries", "tries 007" },
		{ "created", "created -0" },
		{ "created", "created 0000000000000000000001" },
		{ "id", "id 0123456789ABCDEF" },
		{ "warned", "warned 00" },
		{ "lasterr", "lasterr  two  spaces " },
	};
	struct envelope	 e, got;
	char		 text[TEXTMAX], line[TEXTMAX], err[256] = "";
	size_t		 i, n;
	int		 c;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		load_accepts_line(forms[i][0], forms[i][1], &e);
		ATF_REQUIRE_MSG(envelope_dump(&e, text, sizeof(text)) > 0,
		    "%s: loaded but not dumped", forms[i][1]);
		if (envelope_load(&got, text, err, sizeof(err)) != 0)
			atf_tc_fail("%s: %s", forms[i][1], err);
		env_check_equal(&e, &got);
	}

	/* Every octet a value may hold, in each string field. */
	for (i = 0; i < NSFIELDS; i++) {
		n = snprintf(line, sizeof(line), "%s ", sfields[i].key);
		for (c = 1; c < 256 && n < sfields[i].size; c++)
			if (c != '\r' && c != '\n')
				line[n++] = c;
		line[n] = '\0';
		load_accepts_line(sfields[i].key, line, &e);
		round_trip(&e);
	}
}

ATF_TC_WITHOUT_HEAD(load_keeps_value_spaces);
ATF_TC_BODY(load_keeps_value_spaces, tc)
{
	struct envelope	 e;

	load_accepts_line("lasterr", "lasterr  two  spaces ", &e);
	ATF_CHECK_STREQ(e.lasterr, " two  spaces ");
	load_accepts_line("sender", "sender ", &e);
	ATF_CHECK_STREQ(e.sender, "");
	load_accepts_line("helo", "helo rcpt evil", &e);
	ATF_CHECK_STREQ(e.helo, "rcpt evil");
	ATF_CHECK_STREQ(e.rcpt, "bob@example.net");
	load_accepts_line("target", "target |/usr/bin/filter -a \"x, y\"",
	    &e);
	ATF_CHECK_STREQ(e.target, "|/usr/bin/filter -a \"x, y\"");
}

ATF_TC_WITHOUT_HEAD(target_kinds);
ATF_TC_BODY(target_kinds, tc)
{
	ATF_CHECK_EQ(envelope_target_kind(""), TARGET_NONE);
	ATF_CHECK_EQ(envelope_target_kind("/var/log/mail.archive"),
	    TARGET_FILE);
	ATF_CHECK_EQ(envelope_target_kind("|/usr/bin/vacation bob"),
	    TARGET_COMMAND);
	ATF_CHECK_EQ(envelope_target_kind("bob@example.net"),
	    TARGET_ADDRESS);
}

/* Whether the reports bounce_text() writes hide a local agent's words. */
static int	 bounce_hide;

/* The report for e about a one-line message, NUL-terminated. */
static char *
bounce_text(const struct envelope *e, enum bounce_kind kind)
{
	static const char msg[] = "Subject: x\n\nbody\n";
	FILE	*fp;
	char	*text = NULL;
	size_t	 len = 0;
	int	 fd;

	ATF_REQUIRE((fd = memfd_create("message", 0)) != -1);
	ATF_REQUIRE(write(fd, msg, sizeof(msg) - 1) == sizeof(msg) - 1);
	ATF_REQUIRE((fp = open_memstream(&text, &len)) != NULL);
	ATF_REQUIRE_EQ(bounce_write(fp, e, fd, kind, "mx.example.org",
	    1700000000, 1700003600, bounce_hide), 0);
	ATF_REQUIRE(fclose(fp) == 0);
	close(fd);
	return text;
}

ATF_TC_WITHOUT_HEAD(bounce_fields_break_no_line);
ATF_TC_BODY(bounce_fields_break_no_line, tc)
{
	struct envelope	 e;
	char		*text;

	env_ordinary(&e);
	strlcpy(e.lasterr, "550 no\r\nX-Injected: lasterr", sizeof(e.lasterr));
	strlcpy(e.rcpt, "bob@example.net\nX-Injected: rcpt", sizeof(e.rcpt));
	strlcpy(e.sender, "alice@example.org\rX-Injected: sender",
	    sizeof(e.sender));
	strlcpy(e.dsn_envid, "id\nX-Injected: envid", sizeof(e.dsn_envid));
	strlcpy(e.dsn_orcpt, "rfc822;b\nX-Injected: orcpt",
	    sizeof(e.dsn_orcpt));
	text = bounce_text(&e, BOUNCE_DELAYED);
	ATF_CHECK_MSG(strchr(text, '\r') == NULL, "a CR in:\n%s", text);
	ATF_CHECK_MSG(strstr(text, "\nX-Injected") == NULL,
	    "a line of a field's own in:\n%s", text);
	ATF_CHECK(strstr(text, "\nTo: <alice@example.org?X-Injected: "
	    "sender>\n") != NULL);
	ATF_CHECK(strstr(text, "\nDiagnostic-Code: smtp; 550 no??"
	    "X-Injected: lasterr\n") != NULL);
	free(text);
}

/* The Status: line of the report for an error text. */
static void
check_status(const char *lasterr, enum bounce_kind kind, const char *want)
{
	struct envelope	 e;
	char		*text, line[64];

	env_ordinary(&e);
	strlcpy(e.lasterr, lasterr, sizeof(e.lasterr));
	text = bounce_text(&e, kind);
	snprintf(line, sizeof(line), "\nStatus: %s\n", want);
	ATF_CHECK_MSG(strstr(text, line) != NULL, "\"%s\": no %s in:\n%s",
	    lasterr, line + 1, text);
	free(text);
}

ATF_TC_WITHOUT_HEAD(bounce_status_is_rfc3463);
ATF_TC_BODY(bounce_status_is_rfc3463, tc)
{
	check_status("550 5.1.1 <bob@example.net>: unknown", BOUNCE_FAILED,
	    "5.1.1");
	check_status("451 4.7.100 later", BOUNCE_DELAYED, "4.7.100");
	check_status("no code here", BOUNCE_FAILED, "5.0.0");
	check_status("no code here", BOUNCE_DELAYED, "4.0.0");
	/* Not status codes: a sign, too many digits, a number too big. */
	check_status("550 5.-1.2 x", BOUNCE_FAILED, "5.0.0");
	check_status("550 5.+1.2 x", BOUNCE_FAILED, "5.0.0");
	check_status("550 5. 1.2 x", BOUNCE_FAILED, "5.0.0");
	check_status("550 5.1.1000 x", BOUNCE_FAILED, "5.0.0");
	check_status("550 5.99999999999.1 x", BOUNCE_FAILED, "5.0.0");
	/* A bad one does not hide a good one after it. */
	check_status("550 5.1234.1 then 5.7.1 x", BOUNCE_FAILED, "5.7.1");
}

ATF_TC_WITHOUT_HEAD(bounce_time_past_any_date);
ATF_TC_BODY(bounce_time_past_any_date, tc)
{
	struct envelope	 e;
	char		*text;

	env_ordinary(&e);
	e.created = INT64_MAX;
	text = bounce_text(&e, BOUNCE_FAILED);
	ATF_CHECK_MSG(strstr(text, "Arrival-Date:") == NULL, "%s", text);
	ATF_CHECK(strstr(text, "\nFinal-Recipient: rfc822; bob@example.net\n")
	    != NULL);
	free(text);
}

/* A local agent's words reach only senders on this host. */
ATF_TC_WITHOUT_HEAD(bounce_hides_local_words);
ATF_TC_BODY(bounce_hides_local_words, tc)
{
	struct envelope	 e;
	char		*text;

	env_ordinary(&e);
	strlcpy(e.lasterr, "command exited with status 1: cannot write "
	    "/srv/secret", sizeof(e.lasterr));
	bounce_hide = 1;
	text = bounce_text(&e, BOUNCE_FAILED);
	ATF_CHECK_MSG(strstr(text, "/srv/secret") == NULL, "%s", text);
	ATF_CHECK(strstr(text, "\nDiagnostic-Code: x-local; local delivery "
	    "failed") != NULL);
	free(text);
	/* A server's reply is its own to give. */
	strlcpy(e.lasterr, "550 5.1.1 no such mailbox", sizeof(e.lasterr));
	text = bounce_text(&e, BOUNCE_FAILED);
	ATF_CHECK(strstr(text, "\nDiagnostic-Code: smtp; 550 5.1.1 no such "
	    "mailbox\n") != NULL);
	free(text);
	bounce_hide = 0;
	strlcpy(e.lasterr, "command exited with status 1: cannot write "
	    "/srv/secret", sizeof(e.lasterr));
	text = bounce_text(&e, BOUNCE_FAILED);
	ATF_CHECK(strstr(text, "/srv/secret") != NULL);
	free(text);
}

ATF_TC_WITHOUT_HEAD(message_sum_round_trips);
ATF_TC_BODY(message_sum_round_trips, tc)
{
	struct envelope	 e, got;
	char		 text[TEXTMAX], err[256] = "", *packed;
	uint64_t	 size, sum;
	size_t		 len;

	env_ordinary(&e);
	ATF_CHECK_EQ(envelope_message_sum(&e, &size, &sum), 1);
	ATF_REQUIRE(envelope_dump(&e, text, sizeof(text)) > 0);
	ATF_CHECK(strstr(text, "message") == NULL);

	envelope_set_message_sum(&e, 4103, 0x0123456789abcdefULL);
	ATF_REQUIRE(envelope_dump(&e, text, sizeof(text)) > 0);
	ATF_CHECK(strstr(text, "\nmessage 4103 0123456789abcdef\n") != NULL);
	if (envelope_load(&got, text, err, sizeof(err)) != 0)
		atf_tc_fail("load: %s", err);
	ATF_REQUIRE_EQ(envelope_message_sum(&got, &size, &sum), 0);
	ATF_CHECK_EQ(size, 4103);
	ATF_CHECK_EQ(sum, 0x0123456789abcdefULL);

	envelope_set_message_sum(&e, UINT64_MAX, UINT64_MAX);
	ATF_REQUIRE((packed = envelope_pack(&e, &len)) != NULL);
	ATF_REQUIRE(envelope_unpack(&got, packed, len) == 0);
	ATF_CHECK_STREQ(got.message, e.message);
	ATF_REQUIRE_EQ(envelope_message_sum(&got, &size, &sum), 0);
	ATF_CHECK_EQ(size, UINT64_MAX);
	ATF_CHECK_EQ(sum, UINT64_MAX);
	free(packed);
}

ATF_TC_WITHOUT_HEAD(load_refuses_bad_message_sum);
ATF_TC_BODY(load_refuses_bad_message_sum, tc)
{
	const char *bad[] = {
		"12",
		"12 0123456789abcde",
		"12 0123456789abcdef0",
		"12 0123456789ABCDEF",
		"12  0123456789abcdef",
		" 12 0123456789abcdef",
		"x12 0123456789abcdef",
		"-1 0123456789abcdef",
		"18446744073709551616 0123456789abcdef",
		"123456789012345678901 0123456789abcdef",
		"12 0123456789abcdeg",
		"",
	};
	struct envelope	 e;
	char		 text[TEXTMAX], with[TEXTMAX + 64];
	size_t		 i;

	text_ordinary(text, sizeof(text));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_REQUIRE(snprintf(with, sizeof(with), "%smessage %s\n",
		    text, bad[i]) < (int)sizeof(with));
		/* An empty value is no sum: it loads, as none. */
		if (bad[i][0] == '\0') {
			char err[256];

			ATF_CHECK(envelope_load(&e, with, err,
			    sizeof(err)) == 0);
			continue;
		}
		load_refuses(with, bad[i]);
		env_ordinary(&e);
		strlcpy(e.message, bad[i], sizeof(e.message));
		ATF_CHECK_MSG(envelope_dump(&e, with, sizeof(with)) == -1,
		    "dump wrote \"%s\"", bad[i]);
	}
}

ATF_TC_WITHOUT_HEAD(seal_round_trips_and_tells_a_change);
ATF_TC_BODY(seal_round_trips_and_tells_a_change, tc)
{
	struct envelope	 e;
	char		 plain[TEXTMAX], sealed[TEXTMAX], err[256];
	const char	*text;
	size_t		 i, plen;
	int		 n;

	env_ordinary(&e);
	envelope_set_message_sum(&e, 4103, 0xfeedfacecafebeefULL);
	ATF_REQUIRE((n = envelope_dump(&e, plain, sizeof(plain))) > 0);
	plen = n;
	memcpy(sealed, plain, plen + 1);
	ATF_REQUIRE((n = envelope_seal(sealed, plen, sizeof(sealed))) > 0);
	sealed[n] = '\0';
	ATF_CHECK_EQ((size_t)n, plen + 23);
	ATF_CHECK(strncmp(sealed, "check ", 6) == 0 && sealed[22] == '\n');
	text = envelope_unseal(sealed, n, err, sizeof(err));
	ATF_REQUIRE_MSG(text != NULL, "%s", err);
	ATF_CHECK_STREQ(text, plain);

	/* Any byte changed, the check's own included, is told. */
	for (i = 6; i < (size_t)n; i++) {
		if (i == 22)
			continue;
		sealed[i] ^= 0x01;
		ATF_CHECK_MSG(envelope_unseal(sealed, n, err,
		    sizeof(err)) == NULL, "byte %zu changed, not told", i);
		sealed[i] ^= 0x01;
	}
	/* So is a file cut short, or longer than it was written. */
	sealed[n - 1] = '\0';
	ATF_CHECK(envelope_unseal(sealed, n - 1, err, sizeof(err)) == NULL);
	sealed[n - 1] = '\n';
	memcpy(sealed + n, "tries 9\n", 9);
	ATF_CHECK(envelope_unseal(sealed, n + 8, err, sizeof(err)) == NULL);
	sealed[n] = '\0';
	ATF_CHECK(envelope_unseal(sealed, 10, err, sizeof(err)) == NULL);

	/* A file written before envelopes were sealed is taken whole. */
	ATF_CHECK(envelope_unseal(plain, plen, err, sizeof(err)) == plain);

	/* No room for the line: refused, the text left as it was. */
	ATF_CHECK_EQ(envelope_seal(plain, plen, plen + 22), -1);
}

ATF_TC_WITHOUT_HEAD(file_sum_is_the_same_in_any_pieces);
ATF_TC_BODY(file_sum_is_the_same_in_any_pieces, tc)
{
	struct file_sum	 s;
	uint8_t		 buf[1000];
	uint64_t	 whole, other;
	size_t		 i, piece, off;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	file_sum_init(&s);
	file_sum_add(&s, buf, sizeof(buf));
	ATF_CHECK_EQ(s.len, sizeof(buf));
	whole = file_sum_end(&s);
	for (piece = 1; piece <= 17; piece++) {
		file_sum_init(&s);
		for (off = 0; off < sizeof(buf); off += piece)
			file_sum_add(&s, buf + off, sizeof(buf) - off < piece ?
			    sizeof(buf) - off : piece);
		ATF_CHECK_EQ_MSG(file_sum_end(&s), whole,
		    "in pieces of %zu", piece);
	}
	/* One byte changed anywhere, or the length, changes the sum. */
	for (i = 0; i < sizeof(buf); i += 37) {
		buf[i] ^= 0x80;
		file_sum_init(&s);
		file_sum_add(&s, buf, sizeof(buf));
		ATF_CHECK_MSG(file_sum_end(&s) != whole, "byte %zu", i);
		buf[i] ^= 0x80;
	}
	memset(buf, 0, sizeof(buf));
	file_sum_init(&s);
	file_sum_add(&s, buf, 16);
	other = file_sum_end(&s);
	file_sum_init(&s);
	file_sum_add(&s, buf, 17);
	ATF_CHECK(file_sum_end(&s) != other);
	file_sum_init(&s);
	ATF_CHECK(file_sum_end(&s) != other);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, bounce_hides_local_words);
	ATF_TP_ADD_TC(tp, round_trip_ordinary);
	ATF_TP_ADD_TC(tp, pack_round_trip);
	ATF_TP_ADD_TC(tp, message_sum_round_trips);
	ATF_TP_ADD_TC(tp, load_refuses_bad_message_sum);
	ATF_TP_ADD_TC(tp, seal_round_trips_and_tells_a_change);
	ATF_TP_ADD_TC(tp, file_sum_is_the_same_in_any_pieces);
	ATF_TP_ADD_TC(tp, unpack_refuses_other_lengths);
	ATF_TP_ADD_TC(tp, round_trip_remote_mta);
	ATF_TP_ADD_TC(tp, round_trip_number_limits);
	ATF_TP_ADD_TC(tp, round_trip_hostile_values);
	ATF_TP_ADD_TC(tp, round_trip_empty_sender);
	ATF_TP_ADD_TC(tp, round_trip_max_length_fields);
	ATF_TP_ADD_TC(tp, dump_refuses_cr_lf);
	ATF_TP_ADD_TC(tp, dump_refuses_unterminated_field);
	ATF_TP_ADD_TC(tp, dump_refuses_short_buffer);
	ATF_TP_ADD_TC(tp, dump_refuses_injected_line);
	ATF_TP_ADD_TC(tp, load_refuses_bad_version);
	ATF_TP_ADD_TC(tp, load_refuses_unknown_key);
	ATF_TP_ADD_TC(tp, load_refuses_repeated_key);
	ATF_TP_ADD_TC(tp, load_refuses_missing_key);
	ATF_TP_ADD_TC(tp, load_refuses_bad_id);
	ATF_TP_ADD_TC(tp, load_refuses_bad_tries);
	ATF_TP_ADD_TC(tp, load_refuses_bad_created);
	ATF_TP_ADD_TC(tp, load_refuses_value_too_long);
	ATF_TP_ADD_TC(tp, load_refuses_last_line_unterminated);
	ATF_TP_ADD_TC(tp, load_refuses_crlf_lines);
	ATF_TP_ADD_TC(tp, load_refuses_cr_in_value);
	ATF_TP_ADD_TC(tp, dump_refuses_zero_id);
	ATF_TP_ADD_TC(tp, load_accepted_dumps_and_reloads);
	ATF_TP_ADD_TC(tp, load_keeps_value_spaces);
	ATF_TP_ADD_TC(tp, target_kinds);
	ATF_TP_ADD_TC(tp, bounce_fields_break_no_line);
	ATF_TP_ADD_TC(tp, bounce_status_is_rfc3463);
	ATF_TP_ADD_TC(tp, bounce_time_past_any_date);
	return atf_no_error();
}
