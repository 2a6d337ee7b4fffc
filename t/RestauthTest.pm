package RestauthTest;

# Shared helpers of the t/ suite, for the real Test::Nginx and the stand-in
# in t/lib alike.  A test file says
#
#     use Test::Nginx::Socket 'no_plan';
#     use lib 't';
#     use RestauthTest;
#
# and gets:
#
#   * Shared block defaults, set by a block preprocessor:
#     - http_config: the lines of $RestauthTest::HttpConfig (Redis and the
#       HS256 test key) come first, then the block's own http_config.  A
#       shared line is left out when the block's http_config sets the same
#       directive itself, and all of them with "--- no_shared_http_config".
#     - config: $RestauthTest::Config (location /auth/ { restauth_api; })
#       when the block has no config of its own.
#     - no_error_log: "[error]" when the block has neither error_log nor
#       no_error_log (a block that expects an error says which).
#     - timeout: 120 s unless the block sets its own (a ceiling, never a
#       wait: nothing depends on the machine's speed).
#     A test file may change $RestauthTest::HttpConfig or ::Config before
#     run_tests().
#
#   * %::T, the suite's fixture tokens by name ($::T{ALICE_ACCESS}), minted
#     here at load time (HS256 with t/keys/hs256.key unless said otherwise)
#     for the users and sessions of t/fixtures/*.redis.  Use them in eval
#     sections: --- more_headers eval / "Authorization: Bearer $::T{ERIN_ACCESS}".
#
#   * Two extra block sections that look at Redis itself, so a state change
#     is asserted by its effect rather than by a log line:
#
#     --- redis_before
#     DEL restauth:mail                   (commands run before the block starts)
#
#     --- redis_after
#     XLEN restauth:mail => 1             (exact reply)
#     HGET restauth:user:4 password =~ ^pbkdf2_sha256\$1000\$   (regex, /m /s)
#     SMEMBERS restauth:user:6:sessions !~ f3f3   (regex must not match)
#
#     redis_after lines are checked after the block's last request, one test
#     each; a check that does not hold yet is retried for up to 10 s (the
#     module may write after it answers).  Arguments are split like a shell
#     splits words ("..." and '...' quote).  Replies render as redis-cli
#     --raw shows them: integers and strings as they are, nil as "(nil)",
#     arrays one element a line; a stream entry renders as its "field=value"
#     lines without the id, entries separated by an empty line.
#
# Redis is 127.0.0.1:$TEST_NGINX_REDIS_PORT (scripts/run-integration-tests
# starts and seeds it).

use strict;
use warnings;

use B ();
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use IO::Socket::INET ();
use Text::ParseWords qw(shellwords);
use Time::HiRes qw(sleep time);
use Test::More ();

our $KeyDir = $ENV{TEST_NGINX_KEY_DIR} || 't/keys';

# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------

my $FAR = 4102444800;    # 2100-01-01

sub read_key {
    my $path = shift;
    open my $in, '<', $path or die "RestauthTest: cannot read $path: $!\n";
    local $/;
    my $k = <$in>;
    $k =~ s/[\r\n]+\z//;
    return $k;
}

sub b64url {
    (my $s = encode_base64(shift, '')) =~ tr{+/}{-_};
    $s =~ s/=+\z//;
    return $s;
}

# JSON of an ordered list of pairs (compact, like Python's json.dumps with
# separators=(",", ":")); values: numbers, strings, \1 / \0 for true/false,
# array refs and nested pair lists (given as { pairs => [...] }).
sub _json {
    my $v = shift;
    if (ref $v eq 'SCALAR') { return $$v ? 'true' : 'false' }
    if (ref $v eq 'ARRAY')  { return '[' . join(',', map { _json($_) } @$v) . ']' }
    if (ref $v eq 'HASH')   {
        my @p = @{ $v->{pairs} };
        my @out;
        while (my ($k, $x) = splice @p, 0, 2) { push @out, _json_str($k) . ':' . _json($x) }
        return '{' . join(',', @out) . '}';
    }
    # Perl numbers (not strings that look like one) are JSON numbers.
    my $f = B::svref_2object(\$v)->FLAGS;
    return $v if ($f & (B::SVp_IOK() | B::SVp_NOK())) && !($f & B::SVp_POK());
    return _json_str($v);
}

sub _json_str {
    my $s = shift;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/([\x00-\x1f])/sprintf '\\u%04x', ord $1/ge;
    return qq("$s");
}

# A signed HS256 JWT of the claims (a list of pairs, in order).
sub jwt_hs256 {
    my ($key, @claims) = @_;
    my $head = b64url(_json({ pairs => [alg => 'HS256', typ => 'JWT'] }));
    my $body = b64url(_json({ pairs => \@claims }));
    return "$head.$body." . b64url(hmac_sha256("$head.$body", $key));
}

sub access_token {
    my ($uid, $user, $sid, %o) = @_;
    my @extra = @{ $o{extra} || [] };
    return jwt_hs256($o{key} // read_key("$KeyDir/hs256.key"),
        token_type => 'access', exp => $o{exp} // $FAR, iat => 1700000000,
        jti => sprintf('%032x', $uid), user_id => $uid, sid => $sid,
        username => $user, email => ($o{email} // "$user\@example.com"), @extra);
}

sub refresh_token {
    my ($uid, $sid, $jti, %o) = @_;
    return jwt_hs256(read_key("$KeyDir/hs256.key"),
        token_type => 'refresh', exp => $o{exp} // $FAR, iat => 1700000000,
        jti => $jti, user_id => $uid, sid => $sid);
}

# A csrftoken for session $sid as the module makes it (src/core/tokens.h):
# hex nonce, then the first 16 bytes of HMAC-SHA256 over "$sid\n$nonce"
# under the CSRF key, which is derived from the signing key's file
# (KeySet::derived_secret) unless restauth_csrf_secret gives a secret.
sub csrf_token {
    my ($sid, %o) = @_;
    my $key = defined $o{secret}
        ? hmac_sha256('restauth csrf', $o{secret})
        : hmac_sha256('restauth csrf',
              hmac_sha256('restauth derived secrets', read_key("$KeyDir/hs256.key")));
    my $nonce = $o{nonce} // ('5a' x 16);
    return $nonce . substr(unpack('H*', hmac_sha256("$sid\n$nonce", $key)), 0, 32);
}

# The fixture tokens; the sessions they name are in t/fixtures/*.redis
# (scripts/make-test-fixtures, t/fixtures/make-selfservice-fixtures).
sub mint_tokens {
    my %t = (
        ALICE_ACCESS    => access_token(1, 'alice', 'a' x 32),
        BOB_ACCESS      => access_token(2, 'bob', 'b' x 32),
        CAROL_ACCESS    => access_token(3, 'carol', 'c' x 32),
        ERIN_ACCESS     => access_token(5, 'erin', 'e' x 32),
        JUDY_ACCESS     => access_token(10, 'judy', '7' x 32),
        GHOST_ACCESS    => access_token(99, 'ghost', '0' x 32),
        ALICE_EXPIRED   => access_token(1, 'alice', 'a' x 32, exp => 1000000000),
        ALICE_WRONG_KEY => access_token(1, 'alice', 'a' x 32, key => 'x' x 64),
        ALICE_REFRESH   => refresh_token(1, 'a' x 32, 'a1' x 16),
        BOB_REFRESH     => refresh_token(2, 'b' x 32, 'b1' x 16),
        FRANK_REFRESH   => refresh_token(6, 'f' x 32, 'f1' x 16),
        FRANK_REFRESH_ALL => refresh_token(6, 'f2' x 16, 'f2' x 16),
        IVAN_REFRESH     => refresh_token(9, '9' x 32, '91' x 16),
        IVAN_REFRESH_OLD => refresh_token(9, '8' x 32, '80' x 16),
        IVAN_REFRESH_CUR => refresh_token(9, '8' x 32, '81' x 16),
        CAROL_REFRESH    => refresh_token(3, 'c' x 32, 'c1' x 16),
        GHOST_REFRESH    => refresh_token(99, '0' x 32, '01' x 16),
        ALICE_REFRESH_COOKIE => refresh_token(1, 'd' x 32, 'd1' x 16),
        ALICE_RICH => access_token(1, 'alice', 'a' x 32, extra => [
            org => { pairs => [name => 'acme', id => 7] }, roles => ['admin', 'dev'], is_staff => \1]),
        ALICE_NO_SESSION => access_token(1, 'alice', 'fe' x 16),
        EVIL_CRLF        => access_token(2, "bob\r\nX-Injected: 1", 'b' x 32),
        REFRESH_EXPIRED  => refresh_token(1, 'a' x 32, 'a1' x 16, exp => 1000000000),
        XENA_REFRESH_26  => refresh_token(26, '26' x 16, 'a6' x 16),
        XENA_REFRESH_27  => refresh_token(26, '27' x 16, 'a7' x 16),
        # Sessions that exist to be revoked (by logout "all", a password change).
        FRANK_REFRESH_3  => refresh_token(6, 'f3' x 16, 'f3' x 16),
        FRANK_ACCESS_3   => access_token(6, 'frank', 'f3' x 16),
        ERIN_REFRESH     => refresh_token(5, 'e' x 32, 'e1' x 16),
        ERIN_REFRESH_2   => refresh_token(5, 'e2' x 16, 'e2' x 16),
        ERIN_ACCESS_2    => access_token(5, 'erin', 'e2' x 16),
        GRACE_ACCESS     => access_token(7, 'grace', '17' x 16),
        GRACE_REFRESH    => refresh_token(7, '17' x 16, '17' x 16),
        GRACE_REFRESH_2  => refresh_token(7, '18' x 16, '18' x 16),
        GRACE_ACCESS_2   => access_token(7, 'grace', '18' x 16),
        BOB_ACCESS_2     => access_token(2, 'bob', 'b2' x 16),
        BOB_REFRESH_2    => refresh_token(2, 'b2' x 16, 'b2' x 16),
        # CSRF tokens bound to the sessions above (csrftoken / X-CSRFToken).
        ALICE_CSRF        => csrf_token('a' x 32),
        ALICE_COOKIE_CSRF => csrf_token('d' x 32),
        BOB_CSRF          => csrf_token('b' x 32),
        JUDY_CSRF         => csrf_token('7' x 32),
    );
    my $none = b64url('{"alg":"none","typ":"JWT"}');
    my (undef, $payload, $sig) = split /\./, $t{ALICE_ACCESS};
    $t{ALICE_ALG_NONE} = "$none.$payload.";
    (my $claims = MIME::Base64::decode_base64(do { (my $p = $payload) =~ tr{-_}{+/}; $p }))
        =~ s/"user_id":1,/"user_id":2,/;
    my ($head) = split /\./, $t{ALICE_ACCESS};
    $t{ALICE_TAMPERED} = "$head." . b64url($claims) . ".$sig";
    return \%t;
}

%::T = %{ mint_tokens() };

# ---------------------------------------------------------------------------
# Redis (a minimal RESP client)
# ---------------------------------------------------------------------------

my $Conn;

sub _connect {
    return $Conn if $Conn && $Conn->connected;
    my $port = $ENV{TEST_NGINX_REDIS_PORT}
        or die "RestauthTest: TEST_NGINX_REDIS_PORT is not set\n";
    $Conn = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or die "RestauthTest: cannot connect to redis at 127.0.0.1:$port: $!\n";
    binmode $Conn;
    return $Conn;
}

sub _read_line {
    my $c = shift;
    my $line = <$c>;
    die "RestauthTest: redis closed the connection\n" unless defined $line;
    $line =~ s/\r\n\z//;
    return $line;
}

sub _read_reply {
    my $c = shift;
    my $line = _read_line($c);
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $t eq '+' || $t eq ':';
    return { error => $rest } if $t eq '-';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length $buf < $rest + 2) {
            my $n = read($c, $buf, $rest + 2 - length $buf, length $buf);
            die "RestauthTest: short read from redis\n" unless $n;
        }
        return substr($buf, 0, $rest);
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [map { _read_reply($c) } 1 .. $rest];
    }
    die "RestauthTest: bad reply from redis: $line\n";
}

# redis('HGET', 'key', 'field') -> the raw reply (string, undef, array ref,
# or { error => ... }).
sub redis {
    my @args = @_;
    my $c = _connect();
    my $cmd = '*' . @args . "\r\n";
    $cmd .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $c $cmd;
    return _read_reply($c);
}

# A reply as text, see the top of this file.
sub render {
    my $r = shift;
    return '(nil)' unless defined $r;
    return "(error) $r->{error}" if ref $r eq 'HASH';
    return $r unless ref $r;
    if (@$r && !grep { !(ref $_ eq 'ARRAY' && @$_ == 2 && !ref $_->[0] && ref $_->[1] eq 'ARRAY') } @$r) {
        # stream entries: [id, [field, value, ...]]
        return join "\n\n", map {
            my @f = @{ $_->[1] };
            my @l;
            while (my ($k, $v) = splice @f, 0, 2) { push @l, "$k=" . ($v // '') }
            join "\n", @l;
        } @$r;
    }
    return join "\n", map { render($_) } @$r;
}

# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------

sub _lines {
    my $text = shift // '';
    return grep { /\S/ && !/^\s*#/ } split /\n/, $text;
}

sub _run_before {
    my $block = shift;
    for my $line (_lines($block->redis_before)) {
        my $r = redis(shellwords($line));
        die "RestauthTest: " . $block->name . ": redis_before '$line': $r->{error}\n"
            if ref $r eq 'HASH';
    }
}

sub _check_after {
    my ($block, $name) = @_;
    for my $line (_lines($block->redis_after)) {
        my ($cmd, $op, $want) = $line =~ /\A\s*(.*?)\s+(=>|=~|!~)(?:\s(.*))?\z/
            or die "RestauthTest: $name: bad redis_after line: $line\n";
        $want //= '';
        my @args = shellwords($cmd);
        my $test = sub {
            my $got = shift;
            return $got eq $want if $op eq '=>';
            my $m = $got =~ /$want/ms;
            return $op eq '=~' ? $m : !$m;
        };
        my $deadline = time + 10;
        my $got = render(redis(@args));
        until ($test->($got) || time > $deadline) {
            sleep 0.05;
            $got = render(redis(@args));
        }
        my $ok = $test->($got);
        Test::More::ok($ok, "$name - redis: $line");
        Test::More::diag("     got: $got") unless $ok;
    }
}

sub _request_count {
    my $block = shift;
    my $r = $block->request // $block->pipelined_requests;
    return ref $r eq 'ARRAY' ? scalar @$r : 1;
}

# ---------------------------------------------------------------------------
# Shared defaults
# ---------------------------------------------------------------------------

our $HttpConfig = <<'_EOC_';
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
_EOC_

our $Config = <<'_EOC_';
    location /auth/ { restauth_api; }
_EOC_

sub _directive { $_[0] =~ /^\s*([a-z_0-9]+)\s/ ? $1 : '' }

sub http_config_for {
    my $block = shift;
    my $own = $block->http_config;
    $own = '' unless defined $own;
    return $own if defined $block->no_shared_http_config;
    my %set = map { _directive($_) => 1 } split /\n/, $own;
    my $shared = join '', grep { !$set{ _directive($_) } } split /^/m, $HttpConfig;
    return $shared . $own;
}

Test::Nginx::Socket::add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => http_config_for($block));
    $block->set_value(config => $Config) unless defined $block->config;
    $block->set_value(no_error_log => "[error]")
        unless defined $block->error_log || defined $block->no_error_log;
    # A generous ceiling instead of Test::Nginx's 3 s: a login hashes (and
    # may rehash) at 600000 iterations, which on a loaded machine, or under
    # the sanitizers, takes longer.  Blocks that expect a timeout set their own.
    $block->set_value(timeout => 120) unless defined $block->timeout;
    _run_before($block) if defined $block->redis_before;
});

Test::Nginx::Socket::add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    return unless defined $block->redis_after;
    return if $req_idx != _request_count($block) - 1;
    my $name = $block->name;
    if ($dry_run) {
        SKIP: { Test::More::skip("$name - redis_after - tests skipped due to $dry_run",
                                 scalar(_lines($block->redis_after))) }
        return;
    }
    _check_after($block, $name);
});

1;
