//! The runc-compatible command set. Flag names, short forms and defaults follow
//! runc 1.1 so podman, conmon and containerd's shim can call cagebox unchanged.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Create a container (runs it up to the user process, which waits for `start`)
    Create(Create),
    /// Start the user process of a created container
    Start(IdArg),
    /// Create and start a container; in the foreground unless --detach
    Run(Run),
    /// Run a new process inside a running container (or, as `cagebox exec [POLICY FLAGS] -- CMD`, run CMD as a sandboxed short-lived container; its flags: `cagebox exec --preset default --help`)
    Exec(Exec),
    /// Send a signal to the container's init process (or all processes with --all)
    Kill(Kill),
    /// Delete a container's resources (state, cgroup); --force kills it first
    Delete(Delete),
    /// Print the OCI state of a container as JSON
    State(IdArg),
    /// List containers in the state root
    List(List),
    /// List the processes of a container
    Ps(Ps),
    /// Freeze all processes of a container
    Pause(IdArg),
    /// Thaw a paused container
    Resume(IdArg),
    /// Print container events and resource statistics
    Events(Events),
    /// Update the cgroup resources of a running container
    Update(Update),
    /// Print the OCI features this build supports, as JSON
    Features,
    /// Write a default config.json, or print the spec a policy becomes (--policy/--preset)
    Spec(Spec),
    /// Policy tools: presets, show, explain, check
    #[command(subcommand)]
    Policy(super::sandbox::PolicyCommand),
    /// What this kernel offers, and which clauses of a policy it can enforce
    Doctor(super::sandbox::Doctor),
    /// Internal: the createContainer hook behind the tmpfs `tmpcopyup` option
    #[command(hide = true)]
    Copyup(Copyup),
}

#[derive(Debug, Args)]
pub struct Copyup {
    /// Inherited directory descriptor on the image content
    pub fd: i32,
    /// The container's rootfs (the hook runs before pivot_root)
    pub rootfs: PathBuf,
    /// The tmpfs mount destination, resolved inside the rootfs
    pub dest: PathBuf,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// Container id
    pub id: String,
}

#[derive(Debug, Clone, Args)]
pub struct CreateOpts {
    /// Path to the bundle directory (holds config.json)
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's init pid to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (chroot after MS_MOVE instead)
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3..3+N) into the container
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
}

#[derive(Debug, Args)]
pub struct Create {
    #[command(flatten)]
    pub opts: CreateOpts,
    /// Container id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct Run {
    #[command(flatten)]
    pub opts: CreateOpts,
    /// Return once the container is started instead of waiting for it
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits (foreground only)
    #[arg(long)]
    pub keep: bool,
    /// Accepted for runc compatibility; cagebox does not become a subreaper
    #[arg(long, hide = true)]
    pub no_subreaper: bool,
    /// Container id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct Exec {
    /// Unix socket that receives the pty master (with --tty)
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Working directory inside the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE), may repeat
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID[:GID] to run the process as
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional group ids, may repeat
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Path to a process.json (OCI process) describing the process
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Do not wait for the process to exit
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the new process's pid to
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// SELinux process label (not supported: refused if given)
    #[arg(long)]
    pub process_label: Option<String>,
    /// AppArmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privileges for the process
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability to the process's bounding, effective, permitted sets
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Pass N extra file descriptors into the process
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: i32,
    /// Run the process in this sub-cgroup of the container
    #[arg(long)]
    pub cgroup: Option<String>,
    /// Allow exec into a paused container
    #[arg(long)]
    pub ignore_paused: bool,
    /// Container id
    pub id: String,
    /// Command and arguments (unless --process is given)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Kill {
    /// Send the signal to every process in the container's cgroup
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Container id
    pub id: String,
    /// Signal name (TERM, SIGTERM) or number (15)
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct Delete {
    /// Kill a running container first; succeed if it does not exist
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Container id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct List {
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Print only container ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct Ps {
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Container id
    pub id: String,
    /// Options passed to ps(1) for the table format (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Events {
    /// Interval between stats reports (e.g. 5s, 500ms)
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// Print one stats report and exit
    #[arg(long)]
    pub stats: bool,
    /// Container id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct Update {
    /// JSON file with OCI linux.resources ("-" for stdin)
    #[arg(short = 'r', long)]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes
    #[arg(long)]
    pub memory: Option<i64>,
    /// Memory+swap limit in bytes (-1 for unlimited)
    #[arg(long)]
    pub memory_swap: Option<i64>,
    /// Memory soft limit in bytes
    #[arg(long)]
    pub memory_reservation: Option<i64>,
    /// CPU CFS quota in microseconds
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU shares (relative weight)
    #[arg(long)]
    pub cpu_share: Option<u64>,
    /// CPUs the container may use (e.g. 0-1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Maximum number of pids
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Container id
    pub id: String,
}

#[derive(Debug, Args)]
pub struct Spec {
    /// Directory to write config.json into
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Generate a spec for a rootless container (user namespace, mappings)
    #[arg(long)]
    pub rootless: bool,
    /// With --policy or --preset: print (to stdout) the spec the policy becomes
    #[command(flatten)]
    pub policy: super::sandbox::PolicyFlags,
    /// The process args in the printed spec
    #[arg(last = true)]
    pub command: Vec<String>,
}
