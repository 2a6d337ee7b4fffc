# Test::Nginx suite for protected-locations.conf: who gets in, who is
# refused, and which identity headers the backend receives.
#
# Run (README.md, "Testing your own configuration"):
#
#   TEST_NGINX_BINARY=/usr/sbin/nginx \
#   TEST_NGINX_LOAD_MODULES=/path/to/ngx_http_restauth_module.so \
#   RESTAUTH_TOKEN=/path/to/ngx_http_restauth/scripts/restauth-token \
#   prove protected-locations.t
#
# Optional: TEST_NGINX_RESTAUTH_ALG and TEST_NGINX_RESTAUTH_KEY (a key file,
# as restauth_jwt_key takes it; default: a throwaway HS256 secret made here),
# TEST_NGINX_BACKEND_PORT (the echo backend; default: the server port + 1).
#
# The tokens are minted below with scripts/restauth-token and the same key
# nginx loads, so nothing here needs Redis or a user database.

use Test::Nginx::Socket 'no_plan';
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use MIME::Base64 qw(encode_base64);

our (%TOKEN, $Here, $Tool, $Alg, $Key, $BackendPort);

BEGIN {
    $Here = dirname(abs_path(__FILE__));

    # scripts/restauth-token: $RESTAUTH_TOKEN, else next to this folder in
    # the module's checkout, else on the PATH.
    $Tool = $ENV{RESTAUTH_TOKEN};
    $Tool ||= "$Here/../scripts/restauth-token" if -x "$Here/../scripts/restauth-token";
    $Tool ||= 'restauth-token';

    my $tmp = tempdir('restauth-example-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $secret = sub {    # a throwaway HS256 secret, as `openssl rand -base64 48`
        my $path = "$tmp/$_[0]";
        open my $rnd, '<:raw', '/dev/urandom' or die "/dev/urandom: $!\n";
        read($rnd, my $bytes, 48) == 48 or die "/dev/urandom: short read\n";
        open my $out, '>', $path or die "$path: $!\n";
        print $out encode_base64($bytes, ''), "\n";
        close $out or die "$path: $!\n";
        return $path;
    };
    $Alg = $ENV{TEST_NGINX_RESTAUTH_ALG} || 'HS256';
    $Key = $ENV{TEST_NGINX_RESTAUTH_KEY} || $secret->('jwt.key');
    my $other_key = $secret->('other.key');

    my $mint = sub {
        my @cmd = ($Tool, 'mint', '--quiet', '--lifetime', '1h', @_);
        no warnings 'exec';    # the die below says it
        open my $out, '-|', @cmd or die "cannot run $Tool: $! (set RESTAUTH_TOKEN)\n";
        my $token = do { local $/; <$out> };
        close $out or die "@cmd failed (exit status $?)\n";
        chomp $token;
        return $token;
    };
    my @key = ('--key', $Alg, $Key);
    %TOKEN = (
        alice => $mint->('access', @key, '--user-id', 1, '--username', 'alice',
                         '--email', 'alice@example.com', '--claim-json', 'roles=["editor"]'),
        staff => $mint->('access', @key, '--user-id', 2, '--username', 'sam',
                         '--email', 'sam@example.com', '--is-staff'),
        expired => $mint->('access', @key, '--user-id', 1, '--username', 'alice', '--expired'),
        refresh => $mint->('refresh', @key, '--user-id', 1),
        other_key => $mint->('access', '--key', 'HS256', $other_key, '--user-id', 1,
                             '--username', 'alice'),
    );

    $BackendPort = $ENV{TEST_NGINX_BACKEND_PORT}
        || ($ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984) + 1;
}

# Every block: the key, the upstream "app" that the fragment proxies to (an
# echo server in the same nginx, answering with the X-Auth-* headers it
# received), and the fragment itself as the server's configuration.
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => <<"EOC") unless defined $block->http_config;
    restauth_jwt_key $Alg $Key;

    upstream app {
        server 127.0.0.1:$BackendPort;
    }

    server {
        listen 127.0.0.1:$BackendPort;
        location / {
            return 200 "uri=\$uri
user_id=\$http_x_auth_user_id
username=\$http_x_auth_username
email=\$http_x_auth_email
roles=\$http_x_auth_roles
is_staff=\$http_x_auth_is_staff
";
        }
    }
EOC
    $block->set_value(config => "include $Here/protected-locations.conf;\n")
        unless defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: no token: 401 with a Bearer challenge; the backend is not reached
--- request
GET /app/
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
--- response_body_like: credentials were not provided



=== TEST 2: a valid token: the backend gets the verified identity
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::TOKEN{alice}"
--- response_body
uri=/app/page
user_id=1
username=alice
email=alice@example.com
roles=editor
is_staff=



=== TEST 3: identity headers sent by the client are replaced, never passed on
--- request
GET /app/
--- more_headers eval
"Authorization: Bearer $::TOKEN{alice}
X-Auth-User-Id: 2
X-Auth-Roles: admin
X-Auth-Is-Staff: true"
--- response_body
uri=/app/
user_id=1
username=alice
email=alice@example.com
roles=editor
is_staff=



=== TEST 4: forged headers without a token get a 401, not the backend
--- request
GET /app/
--- more_headers
X-Auth-User-Id: 2
--- error_code: 401



=== TEST 5: /admin/ refuses a valid token without is_staff: 403
--- request
GET /admin/
--- more_headers eval
"Authorization: Bearer $::TOKEN{alice}"
--- error_code: 403



=== TEST 6: /admin/ lets staff in
--- request
GET /admin/users
--- more_headers eval
"Authorization: Bearer $::TOKEN{staff}"
--- response_body
uri=/admin/users
user_id=2
username=sam
email=sam@example.com
roles=
is_staff=true



=== TEST 7: an expired token: 401 invalid_token
--- request
GET /app/
--- more_headers eval
"Authorization: Bearer $::TOKEN{expired}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api", error="invalid_token"



=== TEST 8: a token signed with another key: 401
--- request
GET /app/
--- more_headers eval
"Authorization: Bearer $::TOKEN{other_key}"
--- error_code: 401



=== TEST 9: a refresh token is not an access token: 401
--- request
GET /app/
--- more_headers eval
"Authorization: Bearer $::TOKEN{refresh}"
--- error_code: 401
--- response_body_like: wrong type
