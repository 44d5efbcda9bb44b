//! Leader election on a `coordination.k8s.io/v1` Lease, so that several replicas can run safely.
//!
//! Every replica serves the HTTP API (`/v1/cert.pem`, `/v1/recipients`, `/v1/verify`) and metrics;
//! only the replica holding the Lease runs the *leader work* (the reconcilers and key generation),
//! which [`LeaderElector::run`] starts once this replica becomes leader.
//!
//! Contract:
//! * at most one replica runs the leader work at a time, as long as node clocks differ by less
//!   than the renew grace (the Lease is written with the leader's clock, read with the follower's);
//! * a follower takes over at most about `lease duration + 1 s` after the leader dies without
//!   releasing (crash, SIGKILL, node loss), and within about a second of a graceful shutdown
//!   (the leader releases the Lease and followers poll for that);
//! * **losing the Lease ends the process** ([`LeaderError::LeaseLost`]), as kube-controller-manager
//!   and controller-runtime do: the reconcilers are stopped at once, the process exits non-zero and
//!   Kubernetes restarts the pod as a fresh follower. This is simpler to reason about than
//!   re-arming half-stopped controllers, and the other replicas keep serving HTTP meanwhile;
//! * while leader, a watchdog re-reads the Lease every `grace / 2`; if it is no longer ours, or
//!   cannot be confirmed for `duration - grace`, leadership counts as lost even if the renew loop
//!   has not noticed yet (hung request, partial network partition).
//!
//! Built on `kube-lease-manager` (server-side apply on the Lease; no `list`/`watch` needed), so
//! the RBAC is `get`/`patch` on the one Lease name plus `create` on leases in the namespace.
use std::future::Future;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerError, LeaseParams};
use rand::Rng;
use tokio::sync::watch;

/// Default lease duration: with it a follower takes over ~11 s after a leader crash.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(10);
/// Default renew grace: the leader renews this long before expiry (renewal every 7 s).
pub const DEFAULT_RENEW_GRACE: Duration = Duration::from_secs(3);
/// How often a follower checks whether the Lease was released (graceful hand-over).
const RELEASE_POLL_PERIOD: Duration = Duration::from_secs(1);
/// Pause before retrying a failed lease request.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// How long a leader that shuts down waits for the release of its Lease.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// Command-line flags, meant for `#[command(flatten)]` in the controller's `Cli`.
#[derive(Debug, Clone, clap::Args)]
pub struct LeaderElectionArgs {
    /// Elect a leader through a Lease so several replicas can run; only the leader reconciles.
    /// With `false` this replica always reconciles: run exactly one replica then.
    #[arg(
        long = "leader-elect",
        env = "SEALKIT_LEADER_ELECT",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub leader_elect: bool,

    /// Name of the Lease [default: <controller-name>-leader].
    #[arg(
        long = "leader-elect-lease-name",
        env = "SEALKIT_LEADER_ELECT_LEASE_NAME",
        value_name = "NAME"
    )]
    pub lease_name: Option<String>,

    /// Namespace of the Lease [default: the controller's namespace].
    #[arg(
        long = "leader-elect-namespace",
        env = "SEALKIT_LEADER_ELECT_NAMESPACE",
        value_name = "NAMESPACE"
    )]
    pub lease_namespace: Option<String>,

    /// How long the Lease stays valid after the leader's last renewal (whole seconds); a follower
    /// takes over about this long after a leader crash.
    #[arg(
        long = "leader-elect-lease-duration",
        env = "SEALKIT_LEADER_ELECT_LEASE_DURATION",
        default_value = "10s",
        value_parser = humantime::parse_duration,
        value_name = "DURATION"
    )]
    pub lease_duration: Duration,

    /// The leader renews this long before the Lease expires (whole seconds); also the largest
    /// clock skew between nodes that is tolerated.
    #[arg(
        long = "leader-elect-renew-grace",
        env = "SEALKIT_LEADER_ELECT_RENEW_GRACE",
        default_value = "3s",
        value_parser = humantime::parse_duration,
        value_name = "DURATION"
    )]
    pub renew_grace: Duration,
}

impl Default for LeaderElectionArgs {
    fn default() -> Self {
        Self {
            leader_elect: true,
            lease_name: None,
            lease_namespace: None,
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_grace: DEFAULT_RENEW_GRACE,
        }
    }
}

impl LeaderElectionArgs {
    /// Resolves the flags for a controller named `controller_name` running in `namespace`.
    /// The identity is `$POD_NAME` (else `$HOSTNAME`, else `sealkit-controller`) plus a random
    /// suffix, so a restarted container never mistakes its predecessor's Lease for its own.
    pub fn election(
        &self,
        controller_name: &str,
        namespace: &str,
    ) -> Result<Election, LeaderError> {
        if !self.leader_elect {
            return Ok(Election::Disabled);
        }
        let base = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "sealkit-controller".to_owned());
        let settings = LeaseSettings::new(
            self.lease_name
                .clone()
                .unwrap_or_else(|| format!("{controller_name}-leader")),
            self.lease_namespace
                .clone()
                .unwrap_or_else(|| namespace.to_owned()),
            format!("{base}_{}", random_suffix(8)),
            self.lease_duration,
            self.renew_grace,
        )?;
        Ok(Election::Lease(settings))
    }
}

/// Whether this replica elects a leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Election {
    /// Compete for a Lease; run the leader work only while holding it.
    Lease(LeaseSettings),
    /// Always run the leader work (single replica, or tests).
    Disabled,
}

/// A validated Lease configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    name: String,
    namespace: String,
    identity: String,
    duration_secs: u64,
    grace_secs: u64,
}

impl LeaseSettings {
    /// Checks the values: whole seconds, `0 < grace < duration`, a valid object name.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        identity: impl Into<String>,
        duration: Duration,
        grace: Duration,
    ) -> Result<Self, LeaderError> {
        let (name, namespace, identity) = (name.into(), namespace.into(), identity.into());
        let whole = |d: Duration, what: &'static str| {
            if d.subsec_nanos() != 0 {
                Err(LeaderError::InvalidSettings(what))
            } else {
                Ok(d.as_secs())
            }
        };
        let duration_secs = whole(
            duration,
            "the lease duration must be a whole number of seconds",
        )?;
        let grace_secs = whole(grace, "the renew grace must be a whole number of seconds")?;
        if grace_secs == 0 {
            return Err(LeaderError::InvalidSettings(
                "the renew grace must be at least 1s",
            ));
        }
        if grace_secs >= duration_secs {
            return Err(LeaderError::InvalidSettings(
                "the renew grace must be shorter than the lease duration",
            ));
        }
        if !is_object_name(&name) {
            return Err(LeaderError::InvalidSettings(
                "the lease name must be a DNS subdomain (lower-case letters, digits, '-' and '.')",
            ));
        }
        if namespace.is_empty() {
            return Err(LeaderError::InvalidSettings(
                "the lease namespace must not be empty",
            ));
        }
        if identity.is_empty() {
            return Err(LeaderError::InvalidSettings(
                "the leader identity must not be empty",
            ));
        }
        Ok(Self {
            name,
            namespace,
            identity,
            duration_secs,
            grace_secs,
        })
    }

    /// Lease name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Lease namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// This replica's holder identity (written to `spec.holderIdentity`).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Lease validity after a renewal.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration_secs)
    }

    /// Renew margin before expiry.
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_secs)
    }

    /// How often the leader re-reads the Lease to confirm it still holds it.
    fn watchdog_period(&self) -> Duration {
        (self.grace() / 2).clamp(Duration::from_millis(250), Duration::from_secs(2))
    }

    /// How long the leader may go without confirming the Lease before it counts as lost.
    fn confirm_deadline(&self) -> Duration {
        self.duration() - self.grace()
    }
}

/// What this replica currently is (observable through [`LeaderElector::role`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Waiting for the Lease.
    Follower,
    /// Holding the Lease and running the leader work.
    Leader,
    /// Leader election disabled: runs the leader work unconditionally.
    Standalone,
}

/// Why leadership ended against this replica's will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossCause {
    /// Another replica holds the Lease now.
    TakenOver,
    /// The Lease could not be confirmed for longer than `duration - grace`.
    Unconfirmed,
}

impl std::fmt::Display for LossCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::TakenOver => "another replica holds it now",
            Self::Unconfirmed => "it could not be confirmed before its renew deadline",
        })
    }
}

/// Leader-election errors.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// A flag value is unusable.
    #[error("invalid leader-election settings: {0}")]
    InvalidSettings(&'static str),
    /// No Kubernetes client for leader election.
    #[error("cannot build the leader-election client: {0}")]
    Connect(String),
    /// Getting or creating the Lease failed.
    #[error("cannot set up lease {namespace}/{name}")]
    SetUpLease {
        /// Lease name.
        name: String,
        /// Lease namespace.
        namespace: String,
        /// Cause.
        #[source]
        source: LeaseManagerError,
    },
    /// Competing for the Lease failed.
    #[error("cannot acquire lease {namespace}/{name}")]
    AcquireLease {
        /// Lease name.
        name: String,
        /// Lease namespace.
        namespace: String,
        /// Cause.
        #[source]
        source: LeaseManagerError,
    },
    /// This replica was leader and is not anymore; the reconcilers were stopped.
    #[error(
        "lost leadership of lease {namespace}/{name} ({cause}); reconcilers stopped, exiting so the replica restarts as a follower"
    )]
    LeaseLost {
        /// Lease name.
        name: String,
        /// Lease namespace.
        namespace: String,
        /// What happened.
        cause: LossCause,
    },
    /// The leader work panicked.
    #[error("the reconcilers panicked")]
    WorkPanicked(#[source] tokio::task::JoinError),
}

impl LeaderError {
    /// Stable machine-readable reason (metric label, log field).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSettings(_) => "InvalidSettings",
            Self::Connect(_) => "Connect",
            Self::SetUpLease { .. } => "SetUpLease",
            Self::AcquireLease { .. } => "AcquireLease",
            Self::LeaseLost { .. } => "LeaseLost",
            Self::WorkPanicked(_) => "WorkPanicked",
        }
    }
}

/// Runs the leader work on whichever replica holds the Lease.
pub struct LeaderElector {
    client: Client,
    election: Election,
    role: watch::Sender<Role>,
}

impl LeaderElector {
    /// An elector with its own Kubernetes client (from the same configuration as everything else:
    /// in-cluster, `$KUBECONFIG` or `~/.kube/config`), so lease traffic never waits behind the
    /// reconcilers' client-side rate limit, and with request timeouts of one renew grace so a hung
    /// request cannot outlive the Lease.
    pub async fn connect(election: Election) -> Result<Self, LeaderError> {
        let mut config = kube::Config::infer()
            .await
            .map_err(|e| LeaderError::Connect(e.to_string()))?;
        if let Election::Lease(settings) = &election {
            config.connect_timeout = Some(settings.grace());
            config.read_timeout = Some(settings.grace());
            config.write_timeout = Some(settings.grace());
        }
        let client = Client::try_from(config).map_err(|e| LeaderError::Connect(e.to_string()))?;
        Ok(Self::new(client, election))
    }

    /// A new elector using `client`; nothing happens until [`run`](Self::run).
    pub fn new(client: Client, election: Election) -> Self {
        let initial = match election {
            Election::Lease(_) => Role::Follower,
            Election::Disabled => Role::Standalone,
        };
        Self {
            client,
            election,
            role: watch::channel(initial).0,
        }
    }

    /// The current role, updated as it changes (for readiness, metrics, logs).
    pub fn role(&self) -> watch::Receiver<Role> {
        self.role.subscribe()
    }

    /// Waits for leadership, then runs `work` (spawned as its own task) while leading.
    ///
    /// Returns `Ok(Some(output))` when the work finishes by itself (the Lease is released), and
    /// `Ok(None)` when `shutdown` completes first (the work is aborted and the Lease released, so
    /// a follower takes over at once). Returns [`LeaderError::LeaseLost`] when leadership is lost;
    /// the work is aborted first, and the caller should exit non-zero.
    pub async fn run<W, T>(
        self,
        shutdown: impl Future<Output = ()>,
        work: W,
    ) -> Result<Option<T>, LeaderError>
    where
        W: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let settings = match &self.election {
            Election::Disabled => {
                let _ = self.role.send(Role::Standalone);
                let mut task = tokio::spawn(work);
                return tokio::select! {
                    () = shutdown => {
                        task.abort();
                        Ok(None)
                    }
                    joined = &mut task => joined.map(Some).map_err(LeaderError::WorkPanicked),
                };
            }
            Election::Lease(settings) => settings.clone(),
        };
        tokio::pin!(shutdown);

        // Follower: wait for the Lease. Every API call runs inside a future polled by `select!`
        // (never in an arm's body), so a slow request cannot stall the others.
        let mut manager = self.manager(&settings).await?;
        tracing::info!(
            lease = %format!("{}/{}", settings.namespace, settings.name),
            identity = %settings.identity,
            "waiting for leadership"
        );
        loop {
            let acquired = tokio::select! {
                () = &mut shutdown => return Ok(None),
                result = manager.changed() => Some(result),
                () = released(&self.client, &settings) => None,
            };
            match acquired {
                Some(Ok(true)) => break,
                Some(Ok(false)) => {}
                Some(Err(source)) => {
                    tracing::warn!(
                        error = %source,
                        lease = %settings.name,
                        "competing for the lease failed; retrying"
                    );
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                // Released by its holder: a fresh manager reads it at once instead of sleeping
                // until the old expiry.
                None => manager = self.manager(&settings).await?,
            }
        }

        // Leader.
        let _ = self.role.send(Role::Leader);
        tracing::info!(
            lease = %format!("{}/{}", settings.namespace, settings.name),
            identity = %settings.identity,
            "became leader; starting reconcilers"
        );
        let mut task = tokio::spawn(work);
        let lost = {
            // Renewal: `changed()` renews in a loop and returns only on a change or an error. An
            // error is retried after a pause; whether the Lease is lost is the watchdog's call.
            let renew = |delay: Duration| {
                let manager = &manager;
                async move {
                    tokio::time::sleep(delay).await;
                    manager.changed().await
                }
            };
            let mut renewing = std::pin::pin!(renew(Duration::ZERO));
            let mut watchdog = std::pin::pin!(watchdog(&self.client, &settings));
            loop {
                tokio::select! {
                    () = &mut shutdown => {
                        task.abort();
                        release(&manager, &settings).await;
                        let _ = self.role.send(Role::Follower);
                        return Ok(None);
                    }
                    joined = &mut task => {
                        release(&manager, &settings).await;
                        let _ = self.role.send(Role::Follower);
                        return joined.map(Some).map_err(LeaderError::WorkPanicked);
                    }
                    result = &mut renewing => match result {
                        Ok(false) => break LossCause::TakenOver,
                        // Not expected (we already lead); keep renewing.
                        Ok(true) => renewing.set(renew(Duration::ZERO)),
                        Err(error) => {
                            tracing::warn!(%error, lease = %settings.name, "renewing the lease failed; retrying");
                            renewing.set(renew(RETRY_DELAY));
                        }
                    },
                    cause = &mut watchdog => break cause,
                }
            }
        };
        task.abort();
        let _ = self.role.send(Role::Follower);
        Err(LeaderError::LeaseLost {
            name: settings.name.clone(),
            namespace: settings.namespace.clone(),
            cause: lost,
        })
    }

    async fn manager(&self, settings: &LeaseSettings) -> Result<LeaseManager, LeaderError> {
        let params = LeaseParams::new(
            settings.identity.clone(),
            settings.duration_secs,
            settings.grace_secs,
        )
        // One field manager per replica: server-side apply then refuses a second holder.
        .with_field_manager(format!("sealkit-leader-{}", settings.identity));
        LeaseManager::new(
            self.client.clone(),
            settings.name.clone(),
            settings.namespace.clone(),
            params,
            LeaseCreateMode::AutoCreate,
        )
        .await
        .map_err(|source| LeaderError::SetUpLease {
            name: settings.name.clone(),
            namespace: settings.namespace.clone(),
            source,
        })
    }
}

/// Result of re-reading the Lease while leader.
enum Confirmation {
    Held,
    NotHeld,
    Unknown,
}

/// Reads the Lease and checks that this replica holds it and that it has not expired.
async fn confirm(client: &Client, settings: &LeaseSettings) -> Confirmation {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    match api.get(&settings.name).await {
        Ok(lease) => {
            let spec = lease.spec.unwrap_or_default();
            let ours = spec.holder_identity.as_deref() == Some(settings.identity.as_str());
            let fresh = spec.renew_time.is_some_and(|renewed| {
                let renewed: SystemTime = renewed.0.into();
                renewed + settings.duration() > SystemTime::now()
            });
            if ours && fresh {
                Confirmation::Held
            } else {
                Confirmation::NotHeld
            }
        }
        Err(error) => {
            tracing::warn!(%error, lease = %settings.name, "cannot read the lease to confirm leadership");
            Confirmation::Unknown
        }
    }
}

/// Completes when the Lease exists and has no holder (released by a leader that shut down).
async fn released(client: &Client, settings: &LeaseSettings) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    loop {
        tokio::time::sleep(RELEASE_POLL_PERIOD).await;
        if let Ok(Ok(lease)) =
            tokio::time::timeout(RELEASE_POLL_PERIOD, api.get(&settings.name)).await
            && lease.spec.and_then(|s| s.holder_identity).is_none()
        {
            return;
        }
    }
}

/// While leader: re-reads the Lease every `grace / 2` and completes with the cause once it is
/// not ours any more, or could not be confirmed for `duration - grace` (then the other replicas
/// may already consider it expired).
async fn watchdog(client: &Client, settings: &LeaseSettings) -> LossCause {
    let period = settings.watchdog_period();
    let mut confirmed = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match tokio::time::timeout(period, confirm(client, settings)).await {
            Ok(Confirmation::Held) => confirmed = tokio::time::Instant::now(),
            Ok(Confirmation::NotHeld) => return LossCause::TakenOver,
            Ok(Confirmation::Unknown) | Err(_) => {
                if confirmed.elapsed() > settings.confirm_deadline() {
                    return LossCause::Unconfirmed;
                }
            }
        }
    }
}

/// Releases the Lease (best effort, bounded) so a follower takes over without waiting for expiry.
async fn release(manager: &LeaseManager, settings: &LeaseSettings) {
    match tokio::time::timeout(RELEASE_TIMEOUT, manager.release()).await {
        Ok(Ok(())) => tracing::info!(lease = %settings.name, "released the lease"),
        Ok(Err(error)) => {
            tracing::warn!(%error, lease = %settings.name, "cannot release the lease; it expires by itself")
        }
        Err(_) => {
            tracing::warn!(lease = %settings.name, "releasing the lease timed out; it expires by itself")
        }
    }
}

fn random_suffix(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(|b| char::from(b).to_ascii_lowercase())
        .collect()
}

/// DNS subdomain (RFC 1123), as Kubernetes requires for Lease names.
fn is_object_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        leader: LeaderElectionArgs,
    }

    fn settings(duration: u64, grace: u64) -> Result<LeaseSettings, LeaderError> {
        LeaseSettings::new(
            "x-leader",
            "ns",
            "me",
            Duration::from_secs(duration),
            Duration::from_secs(grace),
        )
    }

    #[test]
    fn default_flags_elect_on_a_lease_named_after_the_controller() {
        let cli = Cli::try_parse_from(["c"]).unwrap();
        let Election::Lease(s) = cli
            .leader
            .election("sealed-secrets-controller", "kube-system")
            .unwrap()
        else {
            panic!("leader election must be on by default");
        };
        assert_eq!(s.name(), "sealed-secrets-controller-leader");
        assert_eq!(s.namespace(), "kube-system");
        assert_eq!(
            (s.duration(), s.grace()),
            (Duration::from_secs(10), Duration::from_secs(3))
        );
    }

    #[test]
    fn default_settings_promise_takeover_well_under_fifteen_seconds() {
        // A follower sleeps until the expiry it last read, then waits up to 1 s of jitter.
        let s = settings(
            DEFAULT_LEASE_DURATION.as_secs(),
            DEFAULT_RENEW_GRACE.as_secs(),
        )
        .unwrap();
        assert!(s.duration() + Duration::from_secs(1) < Duration::from_secs(15));
        assert!(
            s.watchdog_period() < s.grace(),
            "the watchdog must look more often than the grace"
        );
    }

    #[test]
    fn leader_election_can_be_switched_off() {
        let cli = Cli::try_parse_from(["c", "--leader-elect=false"]).unwrap();
        assert_eq!(cli.leader.election("c", "ns").unwrap(), Election::Disabled);
    }

    #[test]
    fn identities_differ_between_restarts_of_the_same_pod() {
        let cli = Cli::try_parse_from(["c"]).unwrap();
        let a = cli.leader.election("c", "ns").unwrap();
        let b = cli.leader.election("c", "ns").unwrap();
        let (Election::Lease(a), Election::Lease(b)) = (a, b) else {
            panic!("expected leases")
        };
        assert_ne!(a.identity(), b.identity());
    }

    #[test]
    fn flags_override_name_namespace_and_timing() {
        let cli = Cli::try_parse_from([
            "c",
            "--leader-elect-lease-name=my-lease",
            "--leader-elect-namespace=ops",
            "--leader-elect-lease-duration=20s",
            "--leader-elect-renew-grace=5s",
        ])
        .unwrap();
        let Election::Lease(s) = cli.leader.election("c", "ns").unwrap() else {
            panic!("expected lease")
        };
        assert_eq!((s.name(), s.namespace()), ("my-lease", "ops"));
        assert_eq!(
            (s.duration(), s.grace()),
            (Duration::from_secs(20), Duration::from_secs(5))
        );
    }

    #[test]
    fn a_grace_not_shorter_than_the_duration_is_refused() {
        assert!(matches!(
            settings(5, 5),
            Err(LeaderError::InvalidSettings(_))
        ));
        assert!(matches!(
            settings(5, 9),
            Err(LeaderError::InvalidSettings(_))
        ));
        assert!(matches!(
            settings(5, 0),
            Err(LeaderError::InvalidSettings(_))
        ));
    }

    #[test]
    fn fractional_seconds_are_refused_with_a_clear_message() {
        let err = LeaseSettings::new(
            "l",
            "ns",
            "me",
            Duration::from_millis(10_500),
            Duration::from_secs(3),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid leader-election settings: the lease duration must be a whole number of seconds"
        );
        assert_eq!(err.reason(), "InvalidSettings");
    }

    #[test]
    fn lease_names_must_be_dns_subdomains() {
        for bad in ["", "Upper", "-lead", "lead-", "a..b", "a_b"] {
            assert!(!is_object_name(bad), "{bad:?} accepted");
        }
        for good in ["a", "sealed-secrets-controller-leader", "a.b-c.d"] {
            assert!(is_object_name(good), "{good:?} refused");
        }
        assert!(matches!(
            LeaseSettings::new(
                "Bad_Name",
                "ns",
                "me",
                Duration::from_secs(10),
                Duration::from_secs(3)
            ),
            Err(LeaderError::InvalidSettings(_))
        ));
    }

    #[test]
    fn the_confirm_deadline_ends_before_the_lease_could_expire_for_others() {
        let s = settings(10, 3).unwrap();
        assert_eq!(s.confirm_deadline(), Duration::from_secs(7));
        assert!(s.confirm_deadline() + s.watchdog_period() < s.duration());
    }

    #[test]
    fn losing_the_lease_says_what_happened_and_what_follows() {
        let err = LeaderError::LeaseLost {
            name: "l".into(),
            namespace: "ns".into(),
            cause: LossCause::TakenOver,
        };
        assert_eq!(
            err.to_string(),
            "lost leadership of lease ns/l (another replica holds it now); reconcilers stopped, exiting so the replica restarts as a follower"
        );
        assert_eq!(err.reason(), "LeaseLost");
    }
}
