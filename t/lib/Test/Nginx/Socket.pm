package Test::Nginx::Socket;

# Fallback stand-in for openresty's Test::Nginx::Socket (0.33).
#
# It is only used when the real module is not installed: put t/lib on @INC
# (prove -I t/lib -r t). It runs the same .t files unchanged for the subset
# documented in /work/shared/TEST-NGINX.md ("Minimal subset a fallback runner
# must reproduce") plus a few cheap extras (tcp_listen mock, init, wait,
# skip_nginx/skip_eval/todo, http09, raw_request, valgrind).  Sections of the
# real module that are NOT implemented make the block fail loudly instead of
# being silently ignored.
#
# Differences from the real module, on purpose:
#   * nginx runs with "daemon off" as our own child and is waitpid()ed
#     (no 2 s zombie-reaping delay, and we get its exit status).
#   * A numeric plan ("tests => N") is treated as no_plan; a diag is printed
#     at the end if N differs from the number of tests run.
#   * A fatal problem (bail_out) fails and aborts the current file only
#     instead of BAIL_OUT of the whole prove run.
#   * A plain "N passed, M failed" line is printed on STDOUT at the end
#     (prove ignores it as non-TAP; visible with prove -v).

use strict;
use warnings;

use Test::More ();
use Test::Builder;
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use IO::Select ();
use Socket qw(SOCK_STREAM);
use POSIX qw(:sys_wait_h EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(sleep time);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Temp ();
use List::Util qw(shuffle min);
use Scalar::Util ();
use Carp qw(croak carp cluck confess);

our $VERSION = '0.33_fallback';

my $HaveLongString = eval { require Test::LongString; 1 };

# ---------------------------------------------------------------------------
# Settings (same names and defaults as Test::Nginx::Util)
# ---------------------------------------------------------------------------
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $RepeatEach           = 1;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoRootLocation       = 0;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $EventType            = $ENV{TEST_NGINX_EVENT_TYPE};
our $PostponeOutput       = $ENV{TEST_NGINX_POSTPONE_OUTPUT};
our $UseValgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ForceRestartOnTest   = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                            ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $NoLongString         = 0;
our $ConfigPreamble       = '';
our @EnvToNginx;
our (@BlockPreprocessors, @CleanupHandlers, @TestCleanupHandlers, @ResponseBodyChecks);

our $ServRoot   = $ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

# Some test files peek at Test::Nginx::Util's variables: alias the common ones.
{
    no strict 'refs';
    for my $v (qw(ServerPort ServerPortForClient ServRoot HtmlDir LogDir ErrLogFile
                  PidFile ConfFile RepeatEach NginxBinary LogLevel ServerAddr)) {
        *{"Test::Nginx::Util::$v"} = \${"Test::Nginx::Socket::$v"};
    }
}

# Runtime state.
our $NginxPid;          # pid of the nginx we started (our child), if running
our $NginxDied;         # wait status of our nginx when it exited on its own
our $PrevConfig;        # expanded --- config of the last restart
our $ErrLogFilePos = 0; # error.log offset already seen by the checks
our $TcpServerPid;
my  $MainPid = $$;
my  $PlannedTests;      # N from "tests => N" (checked only by a diag)
my  $FirstStart = 1;
my  $NginxV;            # cached `nginx -V` output

# Sections of the real module this runner does not implement.
my %Unsupported = map { $_ => 1 } qw(
    stap stap_out stap_out_like stap_out_unlike udp_listen udp_reply udp_query
    access_log no_access_log shutdown_error_log no_shutdown_error_log http2 http3
    curl response_body_filters response_body_json_sort charset reload_fails
    raw_request_middle_delay error_log_file server_addr_for_client skip_nginx2
    skip_openssl skip_slave todo_nginx tcp_shutdown tcp_shutdown_delay
    tcp_query_auto_timeout write_resp_body_file quic_max_idle_timeout
);

for my $e (qw(TEST_NGINX_USE_HUP TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3
              TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK TEST_NGINX_USE_STAP
              TEST_NGINX_RANDOMIZE)) {
    warn "WARNING: $e is not supported by the fallback Test::Nginx::Socket and is ignored\n"
        if $ENV{$e};
}

# ---------------------------------------------------------------------------
# import / exports
# ---------------------------------------------------------------------------
our @EXPORT = qw(
    run_tests run_test repeat_each no_shuffle no_root_location log_level
    master_on master_off master_process_enabled workers worker_connections
    env_to_nginx config_preamble server_name server_addr server_root html_dir
    server_port server_port_for_client timeout no_long_string
    check_accum_error_log add_block_preprocessor add_response_body_check
    add_cleanup_handler add_test_cleanup_handler bail_out is_str use_hup
    no_nginx_manager blocks plan no_diff
    ok is isnt like unlike is_deeply cmp_ok skip todo_skip pass fail
    eq_array eq_hash eq_set can_ok isa_ok diag use_ok
    croak carp cluck confess
);

sub import {
    my ($class, @args) = @_;
    my $caller = caller;
    no strict 'refs';
    *{"${caller}::$_"} = \&{"Test::Nginx::Socket::$_"} for @EXPORT;
    *{"${caller}::TODO"} = \$Test::More::TODO;
    # The real module (through Test::Base) runs test files under strict+warnings.
    strict->import;
    warnings->import;
    plan(@args) if @args;
}

# Test::More re-exports.
BEGIN {
    no strict 'refs';
    for my $f (qw(ok is isnt like unlike is_deeply cmp_ok pass fail eq_array
                  eq_hash eq_set can_ok isa_ok diag use_ok)) {
        *{"Test::Nginx::Socket::$f"} = \&{"Test::More::$f"};
    }
}
# skip/todo_skip do "last SKIP"/"last TODO" through the caller's block.
sub skip      { goto &Test::More::skip }
sub todo_skip { goto &Test::More::todo_skip }
sub no_diff   { }

# plan: 'no_plan' and skip_all pass through; "tests => N" becomes no_plan.
sub plan {
    my @args = @_;
    if (@args >= 2 && $args[0] eq 'tests') {
        $PlannedTests = $args[1];
        @args = ('no_plan');
    }
    return Test::More::plan(@args);
}

# ---------------------------------------------------------------------------
# Settings functions
# ---------------------------------------------------------------------------
sub repeat_each       { $RepeatEach = shift if @_; $RepeatEach }
sub no_shuffle        { $NoShuffle = 1 }
sub no_root_location  { $NoRootLocation = 1 }
sub log_level         { $LogLevel = shift if @_; $LogLevel }
sub master_on         { $MasterProcessEnabled = 'on' }
sub master_off        { $MasterProcessEnabled = 'off' }
sub master_process_enabled {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}
sub workers            { $Workers = shift if @_; $Workers }
sub worker_connections { $WorkerConnections = shift if @_; $WorkerConnections }
sub config_preamble    { $ConfigPreamble = shift }
sub server_name        { $ServerName = shift if @_; $ServerName }
sub server_addr        { $ServerAddr = shift if @_; $ServerAddr }
sub server_root        { $ServRoot }
sub html_dir           { $HtmlDir }
sub server_port        { $ServerPort = shift if @_; $ServerPort }
sub server_port_for_client { $ServerPortForClient = shift if @_; $ServerPortForClient }
sub timeout            { $Timeout = shift if @_; $Timeout }
sub no_long_string     { $NoLongString = 1 }
sub check_accum_error_log { $CheckAccumErrLog = 1 }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_response_body_check    { push @ResponseBodyChecks, shift }
sub add_cleanup_handler        { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler   { unshift @TestCleanupHandlers, shift }
sub use_hup          { warn "WARNING: use_hup() is not supported by the fallback runner\n" }
sub no_nginx_manager { warn "WARNING: no_nginx_manager() is not supported by the fallback runner\n" }

sub env_to_nginx {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n" if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub is_str {
    my ($got, $expected, $desc) = @_;
    return Test::More::like($got, $expected, $desc) if ref $expected eq 'Regexp';
    return Test::LongString::is_string($got, $expected, $desc)
        if $HaveLongString && !$NoLongString;
    return Test::More::is($got, $expected, $desc);
}

# Fatal error: fail, stop nginx and abort this file (the real module BAILs OUT
# of the whole run instead).
sub bail_out {
    (my $msg = join '', @_) =~ s/\s+\z//;
    Test::More::fail("BAIL OUT: $msg");
    Test::More::diag($msg);
    cleanup();
    exit 255;
}

# ---------------------------------------------------------------------------
# Block objects (a tiny Test::Base::Block look-alike)
# ---------------------------------------------------------------------------
package Test::Nginx::Socket::Block;

our $AUTOLOAD;

sub new { bless { _section_order => [], _filters => {} }, shift }

# Test::Base keeps a list per section; in scalar context the first is used.
sub set_value {
    my ($self, $key, @v) = @_;
    $self->{$key} = $v[0];
}

sub AUTOLOAD {
    my $self = shift;
    (my $name = $AUTOLOAD) =~ s/.*:://;
    return if $name eq 'DESTROY';
    Carp::croak("Not allowed to set values for '$name'") if @_;
    return $self->{$name};
}

package Test::Nginx::Socket;

# ---------------------------------------------------------------------------
# Test::Base-compatible parsing of the __DATA__ section
# ---------------------------------------------------------------------------
my $Blocks;          # parsed block list
my $BlocksFiltered;  # filters run already?

sub _spec_text {
    no warnings 'once';
    my $h = Scalar::Util::openhandle(\*main::DATA);
    if ($h) {
        local $/;
        my $s = <$h>;
        return $s if defined $s;
    }
    # Fall back on re-reading the script itself.
    open my $in, '<', $0 or return '';
    local $/;
    my $src = <$in>;
    return $src =~ /^__(?:DATA|END)__\r?\n(.*)\z/ms ? $1 : '';
}

sub _parse_blocks {
    my $spec = _spec_text();
    my @hunks = ($spec =~ /^(===.*?(?=^===|\z))/msg);
    my @blocks;
    for my $hunk (@hunks) {
        my $block = Test::Nginx::Socket::Block->new;
        $hunk =~ s/\A===[ \t]*(.*)\s+// or next;
        my $name = $1;
        # Section header: "--- name filters" or "--- name: inline value".
        my @parts = split /^--- +\(?(\w+)\)? *(.*)?\n/m, $hunk;
        my $description = shift @parts;
        $description = $name unless defined $description && $description =~ /\S/;
        $description =~ s/\s*\z//;
        $block->{description} = $description;
        while (@parts) {
            my ($type, $filters, $value) = splice @parts, 0, 3;
            $value   = '' unless defined $value;
            $filters = '' unless defined $filters;
            if ($filters =~ /:(\s|\z)/) {   # inline value
                ($filters, $value) = split /\s*:(?:\s+|\z)/, $filters, 2;
                $value = '' unless defined $value;
                $value =~ s/^\s*(.*?)\s*$/$1/;
            }
            $block->{_filters}{$type} = $filters;
            push @{ $block->{_section_order} }, $type;
            $block->{$type} = $value;
        }
        $block->{name} = $name;
        if (exists $block->{ONLY}) {
            Test::More::diag("I found ONLY: maybe you're debugging?");
            return [$block];
        }
        next if exists $block->{SKIP};
        push @blocks, $block;
        last if exists $block->{LAST};
    }
    return \@blocks;
}

# Filter names; "-x" removes a default filter and "+x" appends one.
sub _get_filters {
    my $string = shift // '';
    $string =~ s/^\s+|\s+$//g;
    my (@filters, @append);
    for my $filter ('norm', 'trim', split /\s+/, $string) {
        my $f = $filter;
        last unless length $f;
        if ($f =~ s/^-//)     { @filters = grep { $_ ne $f } @filters }
        elsif ($f =~ s/^\+//) { push @append, $f }
        else                  { push @filters, $f }
    }
    return (@filters, @append);
}

# The few Test::Base::Filter filters this suite needs.
my %Filters = (
    norm    => sub { my $t = shift // ''; $t =~ s/\015\012/\n/g; $t =~ s/\r/\n/g; $t },
    trim    => sub { map { my $t = $_; if (defined $t) { $t =~ s/\A([ \t]*\n)+//; $t =~ s/(?<=\n)\s*\z//g } $t } @_ },
    chomp   => sub { map { my $t = $_; chomp $t if defined $t; $t } @_ },
    chop    => sub { map { my $t = $_; chop $t if defined $t; $t } @_ },
    unchomp => sub { map { $_ . "\n" } @_ },
    lines   => sub { my $t = shift // ''; split /^/m, $t },
    join    => sub { join '', @_ },
    eval    => \&_eval_filter,
);

sub _eval_filter {
    my ($code, $name, $type) = @_;
    my @r = Test::Nginx::Socket::Eval::run($code);
    if ($@) {
        # Like Test::Base the error becomes the value; unlike it we also say so.
        Test::More::diag("$name - eval of section '$type' failed: $@");
        return $@;
    }
    return @r;
}

sub _run_filters {
    my $block = shift;
    for my $type (@{ $block->{_section_order} }) {
        my @value = ($block->{$type});
        for my $filter (_get_filters($block->{_filters}{$type})) {
            $filter =~ s/=(.*)$//;
            no strict 'refs';
            if (defined &{"main::$filter"}) {       # user-defined filter
                local $_ = join '', map { $_ // '' } @value;
                @value = &{"main::$filter"}(@value);
                @value = ($_) if !@value
                    || (@value == 1 && defined $value[0] && $value[0] =~ /\A(\d+|)\z/);
            } elsif (my $f = $Filters{$filter}) {
                @value = $filter eq 'eval'
                    ? $f->($value[0], $block->{name}, $type) : $f->(@value);
            } else {
                bail_out("$block->{name} - filter '$filter' (section '$type') "
                         . "is not supported by the fallback Test::Nginx::Socket");
            }
        }
        $block->{$type} = $value[0];
    }
}

# blocks(): count in scalar context, filtered block list in list context.
sub blocks {
    $Blocks ||= _parse_blocks();
    return scalar @$Blocks unless wantarray;
    unless ($BlocksFiltered) {
        _run_filters($_) for @$Blocks;
        $BlocksFiltered = 1;
    }
    return @$Blocks;
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
sub parse_time {
    my $tm = shift;
    return $tm unless defined $tm;
    if    ($tm =~ s/([^_a-zA-Z])ms$/$1/) { $tm /= 1000 }
    elsif ($tm =~ s/([^_a-zA-Z])s$/$1/)  { }
    return $tm;
}

# Replace $TEST_NGINX_* by the environment; an unset one is fatal.
sub expand_env_in_text {
    my ($text, $name) = @_;
    return $text if !defined $text || ref $text;
    $text =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
        defined $ENV{$1} ? $ENV{$1} : bail_out("$name - No environment $1 defined.\n")/eg;
    return $text;
}

sub _trim_summary {
    my $s = shift;
    return '' unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub fmt_str {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# Expected value for request number $idx (arrays are needed with several requests).
sub get_indexed_value {
    my ($name, $value, $idx, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        return $value->[$need_array ? $idx : 0];
    }
    bail_out("$name - You asked for many requests, the expected results should be arrays as well.")
        if $need_array;
    return $value;
}

sub _tail_error_log {
    open my $in, '<', $ErrLogFile or return;
    my @l = <$in>;
    close $in;
    splice @l, 0, @l - 20 if @l > 20;
    Test::More::diag("last lines of $ErrLogFile:\n" . join '', @l) if @l;
}

sub _can_run {
    my $cmd = shift;
    return -x $cmd ? $cmd : undef if $cmd =~ m{/};
    for my $dir (File::Spec->path) {
        return "$dir/$cmd" if -x "$dir/$cmd" && !-d _;
    }
    return undef;
}

# ---------------------------------------------------------------------------
# nginx process management
# ---------------------------------------------------------------------------

# Is the nginx we started still running? Reaps it (and records why) if not.
sub _nginx_alive {
    return 0 unless $NginxPid;
    my $r = waitpid($NginxPid, WNOHANG);
    return 1 if $r == 0;
    $NginxDied = $r == $NginxPid ? $? : undef;
    undef $NginxPid;
    return 0;
}

sub _describe_status {
    my $st = shift;
    return 'unknown status' unless defined $st;
    return 'exec failed' if $st == -1 || ($st >> 8) == 127;
    return 'killed by signal ' . ($st & 127) . (($st & 128) ? ' (core dumped)' : '') if $st & 127;
    return 'exit code ' . ($st >> 8);
}

# Send QUIT (TERM with TEST_NGINX_FAST_SHUTDOWN) and wait for it to exit.
sub stop_nginx {
    if ($NginxPid) {
        my $pid = $NginxPid;
        kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? 'TERM' : 'QUIT', $pid);
        my $deadline = time + ($UseValgrind ? 60 : $Timeout);
        while (time < $deadline) {
            last if waitpid($pid, WNOHANG) != 0;
            sleep 0.005;
        }
        if (kill 0, $pid) {
            warn "WARNING: nginx $pid did not exit in time; killing it\n";
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
        undef $NginxPid;
    }
    # First start: an nginx left behind by an earlier run (TEST_NGINX_NO_CLEAN)?
    if ($FirstStart && -f $PidFile) {
        open my $in, '<', $PidFile;
        my $pid = $in ? <$in> : undef;
        if (defined $pid && $pid =~ /^\s*(\d+)/ && kill 0, $1) {
            $pid = $1;
            kill 'QUIT', $pid;
            my $deadline = time + $Timeout;
            sleep 0.02 while kill(0, $pid) && time < $deadline;
        }
    }
    $FirstStart = 0;
}

# Fresh t/servroot/{conf,logs,html} with html/index.html.
sub setup_server_root {
    if (-d $ServRoot) {
        # Same care as the real module: only remove what we create.
        remove_tree($ConfDir, $LogDir, $HtmlDir, "$ServRoot/cache",
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    open my $out, '>', "$HtmlDir/index.html"
        or bail_out("Can't open $HtmlDir/index.html for writing: $!");
    print $out '<html><head><title>It works!</title></head><body>It works!</body></html>';
    close $out;
}

# user_files: ">>> name [date]" lines start a file; or an eval'ed array of
# [name, body, date].
sub write_user_files {
    my $block = shift;
    my $name  = $block->name;
    my $files = $block->user_files;
    return unless $files;
    if (!ref $files) {
        my @list;
        for my $line (split /^/m, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: " . ref($files) . ", only scalar or ARRAY are accepted");
    }
    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = expand_env_in_text($body // '', $name);
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        open my $out, '>', $path or bail_out("$name - Cannot open $path for writing: $!");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("Failed to run touch -t '$date' '$path'");
        }
    }
}

# nginx.conf, written like Test::Nginx::Util::write_config_file except for
# "daemon off" (nginx runs as our child).
sub write_config_file {
    my ($block, $config) = @_;
    my $name = $block->name;
    my $http_config      = expand_env_in_text($block->http_config, $name) // '';
    my $main_config      = $block->main_config // '';
    my $post_main_config = expand_env_in_text($block->post_main_config, $name) // '';
    my $server_name      = $block->server_name // $ServerName;
    $config //= '';

    my $postpone = $PostponeOutput;
    undef $postpone if $http_config =~ /\bpostpone_output\b/;
    my $extra_http_config = '';
    if (defined $postpone) {
        bail_out("Bad TEST_NGINX_POSTPONE_OUTPUT value: $postpone\n") if $postpone !~ /^\d+$/;
        $extra_http_config = "\n    postpone_output $postpone;\n";
    }
    if ($LoadModules) {
        my @modules = map { "load_module $_;" } grep { $_ } split /\s+/, $LoadModules;
        $main_config = join ' ', @modules, $main_config if @modules;
    }
    $main_config = expand_env_in_text($main_config, $name);

    $NginxV //= `$NginxBinary -V 2>&1` // '';
    my $fastcgi = $NginxV =~ /--without-http_fastcgi_module/ ? '' : "fastcgi_temp_path $ServRoot/fastcgi_temp;";
    my $scgi    = $NginxV =~ /--without-http_scgi_module/    ? '' : "scgi_temp_path $ServRoot/scgi_temp;";
    my $uwsgi   = $NginxV =~ /--without-http_uwsgi_module/   ? '' : "uwsgi_temp_path $ServRoot/uwsgi_temp;";
    my $proxy   = $http_config =~ /\bproxy_temp_path\b/ ? '' : "proxy_temp_path $ServRoot/proxy_temp;";
    my $cbody   = $http_config =~ /\bclient_body_temp_path\b/ ? '' : "client_body_temp_path $ServRoot/client_body_temp;";
    (my $quoted_server_name = $server_name) =~ s/\\/\\\\/g;
    $quoted_server_name =~ s/'/\\'/g;
    my $log_level = $block->log_level || $LogLevel;

    open my $out, '>', $ConfFile or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<_EOC_;
worker_processes  $Workers;
daemon off;
master_process $MasterProcessEnabled;
error_log $ErrLogFile $log_level;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
_EOC_
    for my $v (@EnvToNginx) {
        print $out 'env ', ($v =~ /\s/ ? "'$v'" : $v), ";\n";
    }
    print $out <<_EOC_;
#env LUA_PATH;
#env LUA_CPATH;

$main_config

http {
    access_log $AccLogFile; $cbody $proxy $fastcgi $scgi $uwsgi
    #access_log off;

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        #placeholder
        server_name     '$quoted_server_name';
        
        client_max_body_size 30M;
        #client_body_buffer_size 4k;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

_EOC_
    print $out <<_EOC_ unless $NoRootLocation;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    print $out "    }\n";
    print $out <<_EOC_;
$extra_http_config
}

$post_main_config

#timer_resolution 100ms;

events {
    accept_mutex off;

    worker_connections  $WorkerConnections;
_EOC_
    print $out "    use $EventType;\n" if $EventType;
    print $out "}\n";
    print $out "env ASAN_OPTIONS;\nenv MOCKNOEAGAIN_VERBOSE;\nenv MOCKNOEAGAIN;\n";
    if (defined $WorkerUser) {
        print $out "user $WorkerUser;\n";
    } elsif ($> == 0) {
        print $out "user root;\n";
    }
    close $out;
}

# Start nginx in the foreground as our child. Returns (1) once its pid file
# holds its pid (its listening sockets are open by then), or (0, $status,
# $why) when it exited or never came up.
sub start_nginx {
    my $block = shift;
    _can_run($NginxBinary)
        or bail_out("Cannot find the nginx executable '$NginxBinary' (set TEST_NGINX_BINARY)");
    my @cmd = ($NginxBinary, '-e', $ErrLogFile, '-p', "$ServRoot/", '-c', $ConfFile);
    if ($UseValgrind) {
        my @opts = $UseValgrind =~ /^\d+$/
            ? ('--num-callers=100', '-q', '--tool=memcheck', '--leak-check=full',
               '--keep-debuginfo=yes', '--show-possibly-lost=no', '--gen-suppressions=all',
               ($ENV{TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR}
                    ? ('--exit-on-first-error=yes', '--error-exitcode=1') : ()),
               (-f 'valgrind.suppress' ? ('--suppressions=valgrind.suppress') : ()))
            : ('-q', split ' ', $UseValgrind);
        @cmd = ('valgrind', @opts, @cmd);
    }
    Test::More::diag("starting: @cmd") if $Verbose;
    undef $NginxDied;
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null' if defined $block->suppress_stderr;
        if (defined $ENV{TEST_NGINX_LD_PRELOAD}) {
            $ENV{LD_PRELOAD} = join ' ', grep { defined } $ENV{TEST_NGINX_LD_PRELOAD}, $ENV{LD_PRELOAD};
        }
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        POSIX::_exit(127);
    }
    my $deadline = time + ($UseValgrind ? 60 : 10);
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            return (0, $?, _describe_status($?));
        }
        if (open my $in, '<', $PidFile) {
            my $p = <$in>;
            if (defined $p && $p =~ /^\s*(\d+)/ && $1 == $pid) {
                $NginxPid = $pid;
                sleep $TestNginxSleep;
                return (1);
            }
        }
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            return (0, undef, 'no pid file after ' . ($UseValgrind ? 60 : 10) . 's');
        }
        sleep 0.005;
    }
}

# Error-log lines written since the previous check.
sub error_log_data {
    sleep $TestNginxSleep * 3;   # log-phase lines come after the response
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

# ---------------------------------------------------------------------------
# Mock TCP server (--- tcp_listen / tcp_reply / tcp_query / tcp_query_len)
# ---------------------------------------------------------------------------
sub start_tcp_server {
    my $block = shift;
    my $name  = $block->name;
    my $target = expand_env_in_text($block->tcp_listen, $name);
    my $reply  = $block->tcp_reply;
    bail_out("$name - no --- tcp_reply specified but --- tcp_listen is specified")
        unless defined $reply;
    my $req_len = $block->tcp_query_len;
    my $query_file;
    if (defined $block->tcp_query || defined $req_len) {
        $req_len //= length $block->tcp_query;
        (undef, $query_file) = File::Temp::tempfile('tnx-tcpq-XXXXXX', TMPDIR => 1, UNLINK => 1);
    }
    my ($sock, $err);
    for (1 .. 30) {
        if ($target =~ /^\d+$/) {
            $sock = IO::Socket::INET->new(LocalHost => '127.0.0.1', LocalPort => $target,
                                          Proto => 'tcp', ReuseAddr => 1, Listen => 5);
        } elsif ($target =~ /\S+\.sock$/) {
            unlink $target if -e $target;
            $sock = IO::Socket::UNIX->new(Local => $target, Type => SOCK_STREAM, Listen => 5);
        } else {
            bail_out("$name - bad tcp_listen target: $target");
        }
        last if $sock;
        $err = $!;
        last unless $err =~ /in use/i;
        sleep 0.1;
    }
    bail_out("$name - failed to create the tcp listening socket: $err") unless $sock;
    my $pid = fork;
    bail_out("$name - fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        # Child: serve one connection. Never return into the test script.
        eval { _serve_tcp_client($block, $sock, $req_len, $query_file, $reply) };
        warn "WARNING: $name - tcp_listen server: $@" if $@;
        POSIX::_exit(0);
    }
    $TcpServerPid = $pid;
    return ($sock, $query_file);
}

sub _serve_tcp_client {
    my ($block, $sock, $req_len, $query_file, $reply) = @_;
    my $client;
    $client = $sock->accept until $client;
    my $buf = '';
    while (1) {
        my $b;
        my $ret = $client->recv($b, 4096);
        last if !defined $ret || !length $b;
        $buf .= $b;
        if ($query_file) {
            if (open my $o, '>', "$query_file.tmp") {
                print $o $buf;
                close $o;
                rename "$query_file.tmp", $query_file;
            }
        }
        last if !$req_len || length($buf) >= $req_len;
    }
    my $delay = parse_time($block->tcp_reply_delay);
    sleep $delay if $delay;
    $reply = $reply->($buf) if ref $reply eq 'CODE';
    $client->send($_) for ref $reply eq 'ARRAY' ? @$reply : ($reply);
    sleep 1 while defined $block->tcp_no_close;
    $client->close;
}

sub stop_tcp_server {
    my $sock = shift;
    if ($TcpServerPid) {
        kill 'KILL', $TcpServerPid;
        waitpid($TcpServerPid, 0);
        undef $TcpServerPid;
    }
    $sock->close if $sock;
}

sub run_tcp_server_tests {
    my ($block, $sock, $query_file) = @_;
    return unless $sock;
    my $name = $block->name;
    my $buf = '';
    if ($query_file && open my $in, '<', $query_file) {
        local $/;
        $buf = <$in> // '';
    }
    is_str($buf, $block->tcp_query, "$name - tcp_query ok") if defined $block->tcp_query;
    Test::More::is(length($buf), $block->tcp_query_len, "$name - TCP query length ok")
        if defined $block->tcp_query_len;
}

# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------

# more_headers text -> ("Key: val\r\n"..., is_chunked)
sub parse_more_headers {
    my $in = shift // '';
    my ($out, $is_chunked) = ('', 0);
    for my $h (split /\n+/, $in) {
        next if $h =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $h, 2;
        $val //= '';
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# "METHOD [URI [HTTP/x.y]]\nbody" -> full request text.
sub build_request {
    my ($name, $more_headers, $is_chunked, $conn, $request) = @_;
    bail_out("$name - Request line should be non-empty") if !defined $request || $request eq '';
    my ($first, $content) = $request =~ /\A([^\n]*\n?)(.*)\z/s;
    $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid. Should be 'meth [url [version]]' but got \"$first\".");
    my ($meth, $url, $ver) = ($1, $2 // '/', $3 // 'HTTP/1.1');
    my $len_header = '';
    if (!$is_chunked && $content ne '' && $more_headers !~ /(?:^|\n)Content-Length:/) {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = 'Content-Length: ' . length($content) . "\r\n";
    }
    my $headers = '';
    $headers .= "Host: $ServerName\r\n"    if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn\r\n"    if $more_headers !~ /(?:^|\n)Connection/msi;
    return "$meth $url $ver\r\n$headers$more_headers$len_header\r\n$content";
}

# Returns a list of connections; each is [raw bytes, [is-HEAD flag per response]].
sub get_req_from_block {
    my $block = shift;
    my $name  = $block->name;
    my $is_head = sub { $_[0] =~ /^\s*HEAD\s+/ ? 1 : 0 };

    if (defined(my $raw = $block->raw_request)) {
        $raw = join '', @$raw if ref $raw eq 'ARRAY';
        return [[$raw, [$is_head->($raw)]]];
    }

    my $request;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval instead.");
        $request = Test::Nginx::Socket::Eval::run($block->request_eval);
        warn $@ if $@;
    } else {
        $request = $block->request;
        if (defined $request && !ref $request) {
            1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
        }
    }

    my $more = $block->more_headers // '';
    my $hdr_for = sub {
        my $i = shift;
        return parse_more_headers($more) unless ref $more eq 'ARRAY';
        bail_out("$name - --- more_headers lacks data for request $i") unless defined $more->[$i];
        return parse_more_headers($more->[$i]);
    };
    my $packets = sub {   # a request given as an array of packets: just join them
        my $r = shift;
        return $r unless ref $r eq 'ARRAY';
        return join '', map { ref $_ eq 'HASH' ? $_->{value} : $_ } @$r;
    };

    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests") unless ref $reqs eq 'ARRAY';
        my ($all, @heads) = ('');
        for my $i (0 .. $#$reqs) {
            my $r = expand_env_in_text($reqs->[$i], $name);
            my $req = build_request($name, $hdr_for->($i), $i == $#$reqs ? 'close' : 'keep-alive', $r);
            $all .= $req;
            push @heads, $is_head->($req);
        }
        return [[$all, \@heads]];
    }
    if (!ref $request) {
        my $req = build_request($name, $hdr_for->(0), 'close', $request);
        return [[$req, [$is_head->($req)]]];
    }
    bail_out("$name - invalid ---request : MUST be string or array of requests")
        unless ref $request eq 'ARRAY';
    my @list;
    for my $i (0 .. $#$request) {
        my $req = build_request($name, $hdr_for->($i), 'close', $packets->($request->[$i]));
        push @list, [$req, [$is_head->($req)]];
    }
    return \@list;
}

# One connection: write the request, read until EOF. Per-I/O timeout.
# Returns ($response, $timed_out, $connect_error).
sub send_request {
    my ($block, $raw, $timeout) = @_;
    my $sock;
    for my $try (1 .. 30) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr, PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        last if $sock;
        my $err = "$!";
        return (undef, 0, $err) if $try == 30 || ($NginxPid ? !_nginx_alive() : 1);
        sleep min(0.2, $TestNginxSleep * $try);
    }
    local $SIG{PIPE} = 'IGNORE';
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my ($off, $resp, $writing) = (0, '', 1);
    while (1) {
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            close $sock;
            return ($resp, 1);
        }
        if ($writing && $w && @$w) {
            my $n = syswrite($sock, $raw, length($raw) - $off, $off);
            if (defined $n) {
                $off += $n;
                if ($off >= length $raw) {
                    $writing = 0;
                    if (defined(my $sd = $block->shutdown)) {
                        shutdown($sock, $sd =~ /^\s*$/ ? 1 : $sd);
                    }
                }
            } elsif ($! != EAGAIN && $! != EWOULDBLOCK) {
                $writing = 0;   # e.g. the server closed early; keep reading
            }
        }
        if ($r && @$r) {
            my $n = sysread($sock, my $buf, 65536);
            if ($n) { $resp .= $buf; next }
            next if !defined $n && ($! == EAGAIN || $! == EWOULDBLOCK);
            last;   # EOF or reset
        }
    }
    close $sock;
    return ($resp, 0);
}

# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------
package Test::Nginx::Socket::Response;

sub code   { $_[0]{code} }
sub content { $_[0]{content} }
# Case-insensitive; repeated headers joined with ", " (like HTTP::Headers).
sub header {
    my ($self, $k) = @_;
    my $v = $self->{headers}{lc $k};
    return $v ? join(', ', @$v) : undef;
}

package Test::Nginx::Socket;

# Parse one response from $raw. Returns ($res, $raw_headers, $left) where
# $left is what follows this response (the next pipelined one).
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    my $res = bless { code => undef, headers => {}, content => '' }, 'Test::Nginx::Socket::Response';
    my ($raw_headers, $head, $body, $left) = ('');
    if ($raw =~ /\A(.*?\r\n)\r\n/s) {
        $raw_headers = $head = $1;
        $body = substr $raw, length($1) + 2;
    } else {
        ($head, $body) = ($raw, '');
    }
    my @lines = split /\r?\n/, $head;
    my $status = shift @lines // '';
    $res->{code} = $1 if $status =~ m{^HTTP/\S+\s+(\d+)};
    my $last;
    for my $l (@lines) {
        if ($l =~ /^\s+(.*?)\s*$/ && $last) {       # obsolete line folding
            $last->[-1] .= " $1";
        } elsif ($l =~ /^([^:\s]+)\s*:\s*(.*?)\s*$/) {
            $last = $res->{headers}{lc $1} ||= [];
            push @$last, $2;
        }
    }
    my $code = $res->{code} // 0;
    my $te   = $res->header('Transfer-Encoding');
    my $len  = $res->header('Content-Length');
    if ($head_req || $code == 304 || $code == 204 || ($code >= 100 && $code < 200)) {
        $left = $body if length $body;
        $body = '';
    } elsif (defined $te && $te eq 'chunked') {
        my $decoded = '';
        my $ok;
        while (1) {
            if ($body =~ /\G[ \t]*([A-Fa-f0-9]+)[^\r\n]*\r\n/gc) {
                my $size = hex $1;
                if ($size == 0) {                       # last chunk + trailers
                    1 while $body =~ /\G[^\r\n]+\r\n/gc;
                    if ($body =~ /\G\r\n/gc) {
                        $ok = 1;
                        $left = substr $body, pos $body if pos($body) < length $body;
                    }
                    last;
                }
                last if length($body) - pos($body) < $size + 2;
                $decoded .= substr $body, pos($body), $size;
                pos($body) += $size;
                last unless $body =~ /\G\r\n/gc;
            } else {
                last;
            }
        }
        Test::More::fail("$name - invalid chunked body received: "
                         . fmt_str(substr($body, pos($body) // 0, 60))) unless $ok;
        $body = $decoded;
    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, but got ",
                 length $body, "\n";
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $body = substr $body, 0, $len;
        }
    }
    $res->{content} = $body;
    return ($res, $raw_headers, $left);
}

# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------
sub check_error_code {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $code = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($code, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($code, get_indexed_value($name, $block->error_code, $idx, $need_array),
                       "$name - status code ok");
    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $e = get_indexed_value($name, $block->raw_response_headers_like, $idx, $need_array);
        Test::More::like($raw_headers, qr/$e/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $e = get_indexed_value($name, $block->raw_response_headers_unlike, $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$e/s, "$name - raw resp headers unlike");
    }
}

# "Name: value" / "!Name" lines -> ordered [key, value-or-undef] (last wins).
sub parse_headers {
    my $s = shift // '';
    my (%seen, @list);
    for my $l (split /\n/, $s) {
        $l =~ s/^\s+|\s+$//g;
        next if $l eq '';
        my ($key, $val);
        if ($l =~ s/^!\s*//) { $key = $l }
        else                 { ($key, $val) = split /\s*:\s*/, $l, 2 }
        if (exists $seen{$key}) { $list[$seen{$key}][1] = $val }
        else { $seen{$key} = @list; push @list, [$key, $val] }
    }
    return @list;
}

sub check_response_headers {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->response_headers) {
        for my $h (parse_headers(get_indexed_value($name, $block->response_headers, $idx, $need_array))) {
            my ($key, $val) = @$h;
            if (!defined $val) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                                   "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? $res->header($key) : undef;
            Test::More::is($actual // '', $val, "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        for my $h (parse_headers(get_indexed_value($name, $block->response_headers_like, $idx, $need_array))) {
            my ($key, $val) = @$h;
            $val //= '';
            my $actual = $res ? $res->header($key) : undef;
            Test::More::like($actual // '', qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub check_response_body {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;
    if (defined $content) {   # legacy LWP noise stripped by the real module too
        $content =~ s/^TE: deflate,gzip;q=0\.3\r\n//gms;
        $content =~ s/^Connection: TE, close\r\n//gms;
    }
    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if ($block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. Use response_body eval instead.");
            $expected = Test::Nginx::Socket::Eval::run(
                get_indexed_value($name, $block->response_body_eval, $idx, $need_array));
            warn $@ if $@;
        } else {
            $expected = get_indexed_value($name, $block->response_body, $idx, $need_array);
        }
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name);
        }
        if (ref $expected) {
            Test::More::like($content, $expected,
                "$name - response_body - like (repeated req $rep, req $idx)");
        } else {
            is_str($content, $expected,
                "$name - response_body - response is expected (repeated req $rep, req $idx)");
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pat = get_indexed_value($name,
            $type eq 'like' ? $block->response_body_like : $block->response_body_unlike,
            $idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $desc = "$name - response_body_$type - response is expected (" . _trim_summary($content) . ")";
        if ($type eq 'like') { Test::More::like($content, qr/$pat/s, $desc) }
        else                 { Test::More::unlike($content, qr/$pat/s, $desc) }
    }
    # Like the real module: the checks get the body as received.
    $_->($block, $res ? $res->content : undef, $idx, $rep, 0) for @ResponseBodyChecks;
}

sub _value_contains {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    return scalar grep { defined && _value_contains($_, $pat) } @$val if ref $val eq 'ARRAY';
    return 0;
}

sub _patterns {
    my $pats = shift;
    if (!ref $pats) { chomp $pats; return [split /\n+/, $pats] }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub check_error_log {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines;
    my %warn_on = ('[alert]' => 1, '[crit]' => 1, '[emerg]' => 1);

    # grep_error_log / grep_error_log_out
    my $grep_pat = $block->grep_error_log;
    $grep_pat = $grep_pat->[$rep] if ref $grep_pat eq 'ARRAY';
    if (!defined $block->grep_error_log && defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined");
    }
    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
            unless defined $expected;
        $expected = expand_env_in_text($expected, $name);
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
        $lines ||= error_log_data();
        my $matched = '';
        for my $line (@$lines) {
            if ((ref $grep_pat && $line =~ /$grep_pat/) || $line =~ /\Q$grep_pat\E/) {
                $matched .= "$&\n" if $& !~ /\n/;
            }
        }
        is_str($matched, $expected, "$name - grep_error_log_out (req $rep)");
    }

    for my $type (qw(error_log no_error_log)) {
        my $pats = $block->$type;
        next unless defined $pats;
        for my $lvl (keys %warn_on) {
            (my $p = $lvl) =~ s/\]$//;
            delete $warn_on{$lvl} if _value_contains($pats, $p);
        }
        $pats = _patterns($pats);
        $lines ||= error_log_data();
        # Same order of results as the real module: line-major.
        my %found;
        for my $line (@$lines) {
            for my $pat (@$pats) {
                next unless defined $pat;
                next unless (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
                if ($type eq 'error_log') {
                    Test::More::pass("$name - pattern \"$pat\" matches a line in error.log (req $rep)");
                    undef $pat;
                } else {
                    $found{$pat} = 1;
                    Test::More::fail("$name - pattern \"" . fmt_str("$pat") . "\" should not match any "
                        . "line in error.log but matches line \"" . fmt_str($line) . "\" (req $rep)");
                }
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat || $found{$pat};
            if ($type eq 'error_log') {
                Test::More::fail("$name - pattern \"$pat\" should match a line in error.log (req $rep)");
            } else {
                Test::More::pass("$name - pattern \"" . fmt_str("$pat")
                                 . "\" does not match a line in error.log (req $rep)");
            }
        }
    }

    $lines ||= error_log_data();
    for my $line (@$lines) {
        for my $lvl (keys %warn_on) {
            warn "WARNING: $name - " . fmt_str($line) . "\n" if index($line, $lvl) >= 0;
        }
        if ($line =~ /\bAssertion .*?failed\b/) {
            chomp(my $l = $line);
            Test::More::fail("$name - $l");
        }
    }
}

# ---------------------------------------------------------------------------
# Running blocks
# ---------------------------------------------------------------------------

# Requests and checks of one repetition ($rep) of a block.
sub run_test_helper {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $conns = get_req_from_block($block);
    my $timeout = parse_time($block->timeout) // $Timeout;
    my $nresp = 0;
    $nresp += @{ $_->[1] } for @$conns;
    my $need_array = ($block->pipelined_requests || $nresp > 1) ? 1 : 0;
    my $idx = 0;
    for my $conn (@$conns) {
        my ($raw_req, $heads) = @$conn;
        Test::More::diag("$name - request: " . fmt_str($raw_req)) if $Verbose;
        my ($resp, $timed_out, $conn_err) = send_request($block, $raw_req, $timeout);
        if (defined $conn_err) {
            Test::More::fail("$name - Can't connect to $ServerAddr:$ServerPortForClient: $conn_err");
            _report_dead_nginx($block);
        } elsif ($timed_out && !defined $block->abort) {
            Test::More::fail("ERROR: client socket timed out - $name");
        }
        $resp //= '';
        Test::More::diag("$name - response: " . fmt_str($resp)) if $Verbose;
        for my $k (0 .. $#$heads) {
            my ($res, $raw_headers, $left);
            if (defined $block->http09) {
                $res = bless { code => 200, headers => {}, content => $resp },
                             'Test::Nginx::Socket::Response';
                $raw_headers = '';
            } elsif (!defined $block->ignore_response) {
                ($res, $raw_headers, $left) = parse_response($name, $resp, $heads->[$k]);
            }
            if ($k < $#$heads) {
                $resp = $left // '';
            } elsif (defined $left && length $left) {
                warn "WARNING: $name - unexpected extra bytes after last chunk in response: \""
                     . fmt_str($left) . "\"\n";
            }
            unless (defined $block->ignore_response) {
                check_error_code($block, $res, $idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $idx, $need_array);
                check_response_body($block, $res, $idx, $rep, $need_array);
            }
            if ($idx < $nresp - 1) {
                sleep parse_time($block->wait) if $block->wait;
                check_error_log($block, $rep);
            }
            $idx++;
        }
    }
    sleep parse_time($block->wait) if $block->wait;
    check_error_log($block, $rep);
}

# A crashed nginx is worth a failure of its own (the real module only shows
# connection errors/timeouts).
sub _report_dead_nginx {
    my $block = shift;
    _nginx_alive();
    return unless defined $NginxDied;
    Test::More::fail($block->name . " - nginx exited unexpectedly ("
                     . _describe_status($NginxDied) . ")");
    undef $NginxDied;
    _tail_error_log();
}

# (should_skip, tests_to_skip, reason, is_todo) from skip_nginx/skip_eval/todo.
sub _skip_info {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $s = $block->skip_nginx)) {
        $s =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)(?:\s*:\s*(.*))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $s");
        my ($n, $op, @v) = ($1, $2, $3, $4, $5);
        my $reason = $6 || "nginx version $op $v[0].$v[1].$v[2]";
        $NginxV //= `$NginxBinary -V 2>&1` // '';
        my @c = $NginxV =~ m{nginx/(\d+)\.(\d+)\.(\d+)};
        my $have = @c ? sprintf('%d.%03d%03d', @c) : undef;
        my $want = sprintf('%d.%03d%03d', @v);
        my $skip = !defined $have ? $op =~ /^</ : eval "$have $op $want";
        return ($skip, $n, $reason, 0);
    }
    if (defined(my $s = $block->skip_eval)) {
        $s =~ /^\s*(\d+)\s*:\s*(.*)/s or bail_out("$name - Invalid --- skip_eval spec: $s");
        my ($n, $code) = ($1, $2);
        my $skip = Test::Nginx::Socket::Eval::run($code);
        bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
        return ($skip, $n, 'skip_eval', 0);
    }
    if (defined(my $s = $block->todo)) {
        $s =~ /^\s*(\d+)\s*:\s*(.*)/s or bail_out("$name - Invalid --- todo spec: $s");
        return (1, $1, $2, 1);
    }
    return (0);
}

sub run_test {
    my $block = shift;
    return if defined $block->SKIP;
    my $name = $block->name;

    for my $s (grep { $Unsupported{$_} } @{ $block->{_section_order} || [] }) {
        Test::More::fail("$name - section '--- $s' is not supported by the fallback "
                         . "Test::Nginx::Socket in t/lib");
        return;
    }

    my $config = expand_env_in_text($block->config, $name);
    my ($should_skip, $tests_to_skip, $skip_reason, $is_todo) = _skip_info($block);
    my $must_die = $block->must_die;

    if (!defined $config) {
        bail_out("$name - No '--- config' section specified and could not get previous one.")
            unless defined $PrevConfig;
    } elsif (!$should_skip && ($ForceRestartOnTest || !defined $PrevConfig || $config ne $PrevConfig)) {
        $PrevConfig = $config;
        stop_nginx();
        setup_server_root();
        if (defined $block->post_setup_server_root) {
            Test::Nginx::Socket::Eval::run($block->post_setup_server_root);
            bail_out("$name - post_setup_server_root failed: $@") if $@;
        }
        write_user_files($block);
        write_config_file($block, $config);
        $ErrLogFilePos = 0;

        if (defined $must_die) {
            for my $i (0 .. $RepeatEach - 1) {
                my ($up, $status, $why) = start_nginx($block);
                $status = 0 if $up;
                if (!$up && !defined $status) {
                    Test::More::fail("$name - nginx neither died nor started ($why)");
                } elsif (!$up && ($status == -1 || ($status >> 8) == 127)) {
                    Test::More::fail("$name - failed to execute the nginx command line");
                } elsif ($status & 128) {
                    Test::More::fail("$name - nginx core dumped");
                } elsif ($must_die =~ /^\s*\d+\s*$/) {
                    Test::More::is($must_die, $status >> 8, "$name - die with the expected exit code");
                } else {
                    Test::More::isnt($status, 0, "$name - die as expected");
                }
                check_error_log($block, $i);
                if ($up) {
                    warn "WARNING: $name - nginx must die but it does not; killing it (req $i)\n";
                    stop_nginx();
                }
            }
            return;
        }

        my ($up, $status, $why) = start_nginx($block);
        if (!$up) {
            Test::More::fail("$name - nginx failed to start ($why)");
            _tail_error_log();
            return;
        }
    }

    if ($block->init) {
        Test::Nginx::Socket::Eval::run($block->init);
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        my ($tcp_sock, $tcp_query_file);
        ($tcp_sock, $tcp_query_file) = start_tcp_server($block)
            if defined $block->tcp_listen && !$should_skip;
        write_user_files($block) if $i > 0;
        if ($should_skip && defined $tests_to_skip) {
            if ($is_todo) {
                TODO: { Test::More::todo_skip("$name - $skip_reason", $tests_to_skip) }
            } else {
                SKIP: { Test::More::skip("$name - $skip_reason", $tests_to_skip) }
            }
        } else {
            run_test_helper($block, $i);
            run_tcp_server_tests($block, $tcp_sock, $tcp_query_file);
        }
        stop_tcp_server($tcp_sock) if $tcp_sock;
    }
    _report_dead_nginx($block);

    if (my $all = $ENV{TEST_NGINX_ERROR_LOG}) {
        if (-s $ErrLogFile && open my $out, '>>', $all) {
            open my $in, '<', $ErrLogFile;
            print $out "\n=== $name\n", <$in>;
            close $out;
        }
    }
}

sub run_tests {
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort unless defined $ENV{TEST_NGINX_SERVER_PORT};
    my @blocks = blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @TestCleanupHandlers;
    }
    cleanup();
}

sub cleanup {
    $_->() for @CleanupHandlers;
    if ($TcpServerPid) {
        kill 'KILL', $TcpServerPid;
        waitpid($TcpServerPid, 0);
        undef $TcpServerPid;
    }
}

# Ctrl-C: run the END block so nginx is stopped.
$SIG{INT}  = sub { exit 130 } unless defined $SIG{INT}  && ref $SIG{INT};
$SIG{TERM} = sub { exit 143 } unless defined $SIG{TERM} && ref $SIG{TERM};

END {
    if ($$ == $MainPid) {
        local $?;   # keep Test::Builder's exit code
        cleanup();
        stop_nginx() if $NginxPid && !$ENV{TEST_NGINX_NO_CLEAN};
        my $tb = Test::More->builder;
        my @d = $tb->details;
        my $failed = grep { !$_->{ok} } @d;
        if (defined $PlannedTests && $PlannedTests != @d) {
            Test::More::diag("note: the plan said $PlannedTests tests but " . scalar(@d)
                . " ran (the fallback Test::Nginx::Socket treats a numeric plan as no_plan)");
        }
        print STDOUT scalar(@d) - $failed, " passed, $failed failed\n";
    }
}

# ---------------------------------------------------------------------------
# Perl code from "eval" sections, init, skip_eval (kept out of our lexicals)
# ---------------------------------------------------------------------------
package Test::Nginx::Socket::Eval;

# strict, like the real module (Test::Base::Filter / Test::Nginx::Util).
use strict;
use warnings;

sub run {
    return CORE::eval($_[0]);
}

1;
