#! /usr/bin/env atf-sh
#
# smtpd -n: a good configuration passes, and every kind of mistake is
# reported as "file:line: what is wrong" with exit status 1.

. "$(atf_get_srcdir)/../lib.sh"

# check_bad EXPECTED-MESSAGE: smtpd -n on bad.conf (from stdin) fails and
# says exactly that (a fixed string, file name included).
check_bad()
{
	cat > bad.conf
	atf_check -s exit:1 -e match:"^bad.conf:$1" \
	    "$SMTPD" -n -f bad.conf
}

atf_test_case good_configuration_is_ok
good_configuration_is_ok_head()
{
	atf_set descr "Every keyword in one file: smtpd -n says" \
	    "configuration OK and exits 0"
}
good_configuration_is_ok_body()
{
	printf 'mynet.example\n# comment\nother.example  value with spaces\n' \
	    > domains
	cat > good.conf <<CONF
# a comment
spool = "$(pwd)/spool"
queue directory \$spool
control socket "$(pwd)/smtpd.sock"
hostname "mx.example.test"
queue ttl 5d
queue retry 30s 2m 10m 1h
bounce warn-interval 2h
smtp max-message-size 10M
table mynets { 192.0.2.0/24, 2001:db8::/32,
	127.0.0.1 }
table domains file:$(pwd)/domains
table pairs { a = b, c = d }
listen on 127.0.0.1 port 2525
listen on ::1
listen on localhost \\
	port 2526
action "local" maildir "~/Maildir"
action "shared" maildir $(pwd)/mail/%{user.username}
match from local for local action "local"
match from src <mynets> for domain <domains> action "shared"
match from any for domain "example.org" action "local"
match from any for any action "shared"
CONF
	atf_check -s exit:0 -e inline:"configuration OK\n" \
	    "$SMTPD" -n -f good.conf
}

atf_test_case make_run_configuration_is_ok
make_run_configuration_is_ok_head()
{
	atf_set descr "The configuration make run uses passes smtpd -n"
}
make_run_configuration_is_ok_body()
{
	atf_check -s exit:0 -e inline:"configuration OK\n" \
	    "$SMTPD" -n -D top="$TOP" -f "$TOP/etc/smtpd.conf"
}

atf_test_case unknown_keyword_is_reported_with_its_line
unknown_keyword_is_reported_with_its_line_body()
{
	check_bad '3: unknown keyword "listne"' <<CONF
queue directory "/tmp/q"

listne on 127.0.0.1
listen on 127.0.0.1
CONF
}

atf_test_case a_bad_line_names_the_token_it_choked_on
a_bad_line_names_the_token_it_choked_on_body()
{
	check_bad '2: syntax error near "extra"' <<CONF
action "a" maildir
match from any for any action "a" extra
listen on 127.0.0.1
CONF
}

atf_test_case every_error_is_reported_not_only_the_first
every_error_is_reported_not_only_the_first_body()
{
	cat > bad.conf <<CONF
listen on 127.0.0.1 port 0
bogus line here
listen on 127.0.0.1 port 70000
CONF
	atf_check -s exit:1 -e save:err "$SMTPD" -n -f bad.conf
	atf_check -s exit:0 -o ignore grep "^bad.conf:1: port 0 out of range" err
	atf_check -s exit:0 -o ignore grep '^bad.conf:2: unknown keyword "bogus"' err
	atf_check -s exit:0 -o ignore grep "^bad.conf:3: port 70000 out of range" err
}

atf_test_case bad_listen_address
bad_listen_address_body()
{
	check_bad "1: cannot listen on 300.1.2.3" <<CONF
listen on 300.1.2.3
CONF
}

atf_test_case match_with_an_unknown_action
match_with_an_unknown_action_body()
{
	check_bad '2: no such action: "nope"' <<CONF
listen on 127.0.0.1
match from any for any action "nope"
CONF
}

atf_test_case match_with_an_unknown_table
match_with_an_unknown_table_body()
{
	check_bad "3: no such table: <nets>" <<CONF
listen on 127.0.0.1
action "a" maildir
match from src <nets> for any action "a"
CONF
}

atf_test_case action_defined_twice
action_defined_twice_body()
{
	check_bad '3: action "a" defined twice' <<CONF
listen on 127.0.0.1
action "a" maildir
action "a" maildir "/tmp/m"
match from any for any action "a"
CONF
}

atf_test_case table_defined_twice
table_defined_twice_body()
{
	check_bad "3: table t defined twice" <<CONF
listen on 127.0.0.1
table t { a }
table t { b }
CONF
}

atf_test_case relative_paths_are_refused
relative_paths_are_refused_body()
{
	check_bad "1: queue directory must be an absolute path" <<CONF
queue directory "spool"
listen on 127.0.0.1
CONF
	check_bad "2: maildir path must be absolute or start with ~" <<CONF
listen on 127.0.0.1
action "a" maildir "Maildir"
match from any for any action "a"
CONF
}

atf_test_case undefined_macro
undefined_macro_body()
{
	check_bad '2: macro "nowhere" not defined' <<CONF
listen on 127.0.0.1
queue directory \$nowhere
CONF
}

atf_test_case macro_using_itself_is_an_error
macro_using_itself_is_an_error_head()
{
	atf_set descr "A macro whose value names the macro itself is" \
	    "reported, neither read for ever nor grown without end"
	atf_set timeout 60
}
macro_using_itself_is_an_error_body()
{
	check_bad '2: macros expand to more than 65536 bytes on one line' <<CONF
loop = "\$loop"
listen on 127.0.0.1 port \$loop
CONF
	check_bad '3: macros expand to more than 65536 bytes on one line' <<CONF
listen on 127.0.0.1
grow = "\$grow \$grow"
queue directory \$grow
CONF
}

atf_test_case command_line_macro_overrides_the_file
command_line_macro_overrides_the_file_body()
{
	cat > m.conf <<CONF
smtpport = "0"
listen on 127.0.0.1 port \$smtpport
CONF
	atf_check -s exit:1 -e match:"^m.conf:2: port 0 out of range" \
	    "$SMTPD" -n -f m.conf
	atf_check -s exit:0 -e match:"^configuration OK$" \
	    "$SMTPD" -n -D smtpport=2525 -f m.conf
}

atf_test_case missing_table_file
missing_table_file_body()
{
	check_bad "2: table t: $(pwd)/nothere: No such file or directory" <<CONF
listen on 127.0.0.1
table t file:$(pwd)/nothere
CONF
}

atf_test_case bad_size
bad_size_body()
{
	check_bad "2: bad size: 12Q" <<CONF
listen on 127.0.0.1
smtp max-message-size 12Q
CONF
}

atf_test_case queue_ttl_too_short
queue_ttl_too_short_body()
{
	check_bad "2: queue ttl must be a minute or more" <<CONF
listen on 127.0.0.1
queue ttl 10s
CONF
	check_bad "2: a retry delay must be a second or more" <<CONF
listen on 127.0.0.1
queue retry 1m 0
CONF
	check_bad "2: bad duration: 5w" <<CONF
listen on 127.0.0.1
bounce warn-interval 5w
CONF
}

atf_test_case unterminated_string
unterminated_string_body()
{
	check_bad "1: unterminated quoted string" <<CONF
hostname "mx.example
listen on 127.0.0.1
CONF
}

atf_test_case no_listener
no_listener_body()
{
	cat > bad.conf <<CONF
action "a" maildir
match from any for any action "a"
CONF
	atf_check -s exit:1 -e match:"^bad.conf: no listen directive" \
	    "$SMTPD" -n -f bad.conf
}

atf_test_case missing_file
missing_file_body()
{
	atf_check -s exit:1 -e match:"nothere.conf: No such file" \
	    "$SMTPD" -n -f nothere.conf
}

atf_init_test_cases()
{
	atf_add_test_case good_configuration_is_ok
	atf_add_test_case make_run_configuration_is_ok
	atf_add_test_case unknown_keyword_is_reported_with_its_line
	atf_add_test_case a_bad_line_names_the_token_it_choked_on
	atf_add_test_case every_error_is_reported_not_only_the_first
	atf_add_test_case bad_listen_address
	atf_add_test_case match_with_an_unknown_action
	atf_add_test_case match_with_an_unknown_table
	atf_add_test_case action_defined_twice
	atf_add_test_case table_defined_twice
	atf_add_test_case relative_paths_are_refused
	atf_add_test_case undefined_macro
	atf_add_test_case macro_using_itself_is_an_error
	atf_add_test_case command_line_macro_overrides_the_file
	atf_add_test_case missing_table_file
	atf_add_test_case bad_size
	atf_add_test_case queue_ttl_too_short
	atf_add_test_case unterminated_string
	atf_add_test_case no_listener
	atf_add_test_case missing_file
}
