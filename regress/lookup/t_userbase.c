/*
 * Userbase entries ("name UID:GID:HOME"): what is taken and what is
 * refused, the line a file entry came from, and telling a changed file
 * from the one loaded.
 */
#include <sys/types.h>

#include <atf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lookup/lookup.h"

/* Whether the entry is refused, with err holding want. */
static int
refused(const char *name, const char *value, const char *want)
{
	struct userbase_user	 u;
	char			 err[256] = "";

	if (userbase_parse(name, value, &u, err, sizeof(err)) == 0)
		return 0;
	if (strstr(err, want) == NULL)
		atf_tc_fail("%s %s: \"%s\" lacks \"%s\"", name,
		    value ? value : "(null)", err, want);
	return 1;
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(path, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) != EOF);
	ATF_REQUIRE(fclose(fp) == 0);
}

ATF_TC_WITHOUT_HEAD(good_entry_parsed);
ATF_TC_BODY(good_entry_parsed, tc)
{
	struct userbase_user	 u;
	char			 err[256];

	ATF_REQUIRE(userbase_parse("alice", "2000:2001:/var/vmail/alice", &u,
	    err, sizeof(err)) == 0);
	ATF_CHECK_EQ(u.uid, 2000);
	ATF_CHECK_EQ(u.gid, 2001);
	ATF_CHECK_STREQ(u.home, "/var/vmail/alice");
	/* The home is the rest of the value, colons and all. */
	ATF_REQUIRE(userbase_parse("b.o-b_1+x=y", "1:1:/v/a:b", &u, err,
	    sizeof(err)) == 0);
	ATF_CHECK_STREQ(u.home, "/v/a:b");
}

ATF_TC_WITHOUT_HEAD(root_ids_refused);
ATF_TC_BODY(root_ids_refused, tc)
{
	ATF_CHECK(refused("a", "0:2000:/h", "uid 0 is not allowed"));
	ATF_CHECK(refused("a", "2000:0:/h", "gid 0 is not allowed"));
	ATF_CHECK(refused("a", "00:1:/h", "uid 0 is not allowed"));
}

ATF_TC_WITHOUT_HEAD(malformed_refused);
ATF_TC_BODY(malformed_refused, tc)
{
	ATF_CHECK(refused("a", NULL, "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "2000", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "2000:2000", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "x:2000:/h", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "+5:2000:/h", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", " 5:2000:/h", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "-1:2000:/h", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "4294967295:1:/h", "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "99999999999999999999:1:/h",
	    "not UID:GID:HOME"));
	ATF_CHECK(refused("a", "1:1:", "home must be an absolute path"));
	ATF_CHECK(refused("a", "1:1:vmail/a", "home must be an absolute"));
	ATF_CHECK(refused("a", "1:1:~/a", "home must be an absolute"));
	ATF_CHECK(refused("a", "1:1:/a\tb", "bad home"));
}

ATF_TC_WITHOUT_HEAD(unreachable_names_refused);
ATF_TC_BODY(unreachable_names_refused, tc)
{
	char	 longname[USERBASE_NAME_MAX + 1];

	ATF_CHECK(refused("Alice", "1:1:/h", "not in lower case"));
	ATF_CHECK(refused("", "1:1:/h", "empty or too long"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ATF_CHECK(refused(longname, "1:1:/h", "empty or too long"));
	ATF_CHECK(refused("..", "1:1:/h", "begins with a dot"));
	ATF_CHECK(refused("a/b", "1:1:/h", "holds a character"));
	ATF_CHECK(refused("a:", "1:1:/h", "holds a character"));
	ATF_CHECK(refused("a@b", "1:1:/h", "holds a character"));
}

ATF_TC_WITHOUT_HEAD(get_tells_absent_from_refused);
ATF_TC_BODY(get_tells_absent_from_refused, tc)
{
	struct userbase_user	 u;
	struct table		*t;
	char			 err[256];

	ATF_REQUIRE((t = table_create("vusers", TABLE_STATIC, NULL)) != NULL);
	ATF_REQUIRE(table_add(t, "alice", "10:20:/home/alice") == 0);
	ATF_REQUIRE(table_add(t, "evil", "0:0:/root") == 0);
	ATF_REQUIRE(table_add(t, "plain", NULL) == 0);
	ATF_CHECK_EQ(userbase_get(t, "alice", &u, err, sizeof(err)), 1);
	ATF_CHECK_EQ(u.uid, 10);
	ATF_CHECK_EQ(userbase_get(t, "nobody", &u, err, sizeof(err)), 0);
	ATF_CHECK_EQ(userbase_get(t, "evil", &u, err, sizeof(err)), -1);
	ATF_CHECK_EQ(userbase_get(t, "plain", &u, err, sizeof(err)), -1);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(file_entries_know_their_line);
ATF_TC_BODY(file_entries_know_their_line, tc)
{
	struct table	*t;
	char		 err[256];

	write_file("vusers", "# users\n\nalice 1:1:/a\nbob 2:2:/b\n"
	    "alice 3:3:/c\n");
	ATF_REQUIRE((t = table_create("vusers", TABLE_FILE, "vusers")) !=
	    NULL);
	ATF_REQUIRE(table_load(t, err, sizeof(err)) == 0);
	/* The last line given for a key is the one used, and named. */
	ATF_CHECK_EQ(table_line(t, "alice"), 5);
	ATF_CHECK_EQ(table_line(t, "bob"), 4);
	ATF_CHECK_EQ(table_line(t, "carol"), 0);
	table_free(t);

	ATF_REQUIRE((t = table_create("inline", TABLE_STATIC, NULL)) != NULL);
	ATF_REQUIRE(table_add(t, "alice", "1:1:/a") == 0);
	ATF_CHECK_EQ(table_line(t, "alice"), 0);
	table_free(t);
}

ATF_TC_WITHOUT_HEAD(changed_file_noticed);
ATF_TC_BODY(changed_file_noticed, tc)
{
	struct table	*t;
	char		 err[256];

	write_file("vusers", "alice 1:1:/a\n");
	ATF_REQUIRE((t = table_create("vusers", TABLE_FILE, "vusers")) !=
	    NULL);
	ATF_REQUIRE(table_load(t, err, sizeof(err)) == 0);
	ATF_CHECK(!table_changed(t));
	/* Another size: changed whatever the clock's resolution. */
	write_file("vusers", "alice 1:1:/a\nbob 2:2:/b\n");
	ATF_CHECK(table_changed(t));
	ATF_REQUIRE(table_reload(t, err, sizeof(err)) == 0);
	ATF_CHECK(!table_changed(t));
	/* Another file put in its place. */
	write_file("vusers.new", "alice 1:1:/a\nbob 2:2:/b\n");
	ATF_REQUIRE(rename("vusers.new", "vusers") == 0);
	ATF_CHECK(table_changed(t));
	/* One that is gone cannot be read: what was loaded stays. */
	ATF_REQUIRE(unlink("vusers") == 0);
	ATF_CHECK(!table_changed(t));
	table_free(t);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, good_entry_parsed);
	ATF_TP_ADD_TC(tp, root_ids_refused);
	ATF_TP_ADD_TC(tp, malformed_refused);
	ATF_TP_ADD_TC(tp, unreachable_names_refused);
	ATF_TP_ADD_TC(tp, get_tells_absent_from_refused);
	ATF_TP_ADD_TC(tp, file_entries_know_their_line);
	ATF_TP_ADD_TC(tp, changed_file_noticed);
	return atf_no_error();
}
