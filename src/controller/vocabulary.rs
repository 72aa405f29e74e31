//! The words status is written in, in one place: condition types and reasons, ECS rollout
//! states, deployment and task statuses, stop codes, listener rule fates and Event reasons.
//!
//! The status types in [`crate::api`] hold these as strings (that is what the CRD schema and
//! `kubectl` show); the controllers only ever write them through the types here, so a word
//! cannot be misspelt in one controller and not in another.

use crate::translate::routing::Fate;

/// Generates a `Copy` enum whose variants are written as their own name, with `as_str`.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// The word as written in status.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// The type of a condition.
    ConditionType {
        /// The object does what its spec says (steady service, routed listener, running task).
        Ready,
        /// A rollout is under way.
        Progressing,
        /// A rollout failed or the spec cannot be run.
        Degraded,
        /// How faithfully the spec translates (approximated or dropped fields).
        Translated,
    }
}

words! {
    /// The reason of a condition.
    Reason {
        /// EcsService: every desired task runs the primary deployment.
        SteadyState,
        /// EcsService: tasks are starting or being replaced.
        Deploying,
        /// EcsService: the primary deployment is rolling out.
        RolloutInProgress,
        /// EcsService: the primary deployment completed or failed.
        RolloutFinished,
        /// EcsService: the primary deployment failed.
        RolloutFailed,
        /// EcsService: nothing is degraded.
        AsExpected,
        /// The task definition a service or task names is not registered.
        TaskDefinitionNotFound,
        /// Every translation error is a reference that does not resolve.
        ReferenceNotFound,
        /// The spec cannot be translated.
        Invalid,
        /// Every field translates exactly.
        Exact,
        /// Some fields are approximated or not carried.
        WithDifferences,
        /// TargetGroup: no service registers with it.
        NoServices,
        /// TargetGroup: at least one registered target is healthy.
        HealthyTargets,
        /// TargetGroup: no registered target is healthy.
        NoHealthyTargets,
        /// TargetGroup: `--target-group-binding` would bind it, but the API server has no
        /// TargetGroupBinding resource (the AWS Load Balancer Controller's CRD).
        BindingUnavailable,
        /// Listener: it forwards to a target group that does not exist.
        TargetGroupNotFound,
        /// Listener: some rules cannot be routed exactly.
        RoutedWithDifferences,
        /// Listener: every rule routes as on the ALB.
        RoutedExactly,
        /// EcsTask: every task runs.
        Running,
        /// EcsTask: the task stopped.
        Stopped,
        /// EcsTask: containers are starting.
        Pending,
        /// TaskDefinition: the current spec is registered as a revision.
        Registered,
        /// EcsCluster: nodes match its capacity providers.
        CapacityAvailable,
        /// EcsCluster: no node matches its capacity providers.
        NoCapacity,
        /// A child the object would write already exists and belongs to somebody else.
        ChildConflict,
        /// The security policy the cluster admin chose refuses a field.
        PolicyViolation,
        /// A request to the API server failed or it could not be reached; retried with
        /// exponential backoff.
        ApiError,
        /// The API server throttles the operator (429 TooManyRequests); retried after the
        /// `Retry-After` it asked for.
        Throttled,
        /// The operator's permissions do not allow a request (403 Forbidden); retried with
        /// exponential backoff until the permission is granted.
        Forbidden,
        /// The API server refused a child as invalid (422): the spec produces a child the API
        /// server does not accept; retried only when the object (or the child) changes.
        ChildRejected,
        /// A generated object could not be serialized (a bug in ecsplane).
        InternalError,
        /// EcsService: the deploymentConfiguration lets the deployment neither stop nor
        /// start a task (ECS's "unable to stop or start tasks during a deployment").
        DeploymentConfigurationStuck,
        /// EcsScheduledTask: its CronJob runs the task on the schedule (state `ENABLED`).
        Scheduled,
        /// EcsScheduledTask: the schedule is `DISABLED`, its CronJob suspended.
        Suspended,
    }
}

/// The rollout state of an ECS deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RolloutState {
    /// Tasks of the deployment are starting or replacing older ones.
    InProgress,
    /// The deployment reached its desired count of healthy tasks.
    Completed,
    /// The rollout made no progress, or the circuit breaker tripped.
    Failed,
}

impl RolloutState {
    /// The state as ECS writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
        }
    }

    /// The state written as `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::InProgress, Self::Completed, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

impl PartialEq<&str> for RolloutState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for RolloutState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one of a service's deployments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeploymentStatus {
    /// The newest deployment.
    Primary,
    /// An older deployment that still has tasks.
    Active,
}

impl DeploymentStatus {
    /// The status as ECS writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Primary => "PRIMARY",
            DeploymentStatus::Active => "ACTIVE",
        }
    }
}

/// The `lastStatus` / `desiredStatus` of an ECS task or container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Not started yet.
    Provisioning,
    /// Started, containers not all running.
    Pending,
    /// Running.
    Running,
    /// Stopped, for good.
    Stopped,
}

impl TaskStatus {
    /// The status as ECS writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Stopped => "STOPPED",
        }
    }
}

impl PartialEq<TaskStatus> for str {
    fn eq(&self, other: &TaskStatus) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<TaskStatus> for String {
    fn eq(&self, other: &TaskStatus) -> bool {
        self == other.as_str()
    }
}

words! {
    /// Why an ECS task stopped (`stopCode`).
    StopCode {
        /// An essential container exited.
        EssentialContainerExited,
        /// Someone stopped it (here: its pod was deleted).
        UserInitiated,
    }
}

/// ECS's `stoppedReason` when an essential container exits.
pub const ESSENTIAL_CONTAINER_EXITED: &str = "Essential container in task exited";

/// The `status` of a registered task definition and of a cluster.
pub const ACTIVE: &str = "ACTIVE";

words! {
    /// What became of a listener rule (`status.rules[].fate`).
    FateName {
        /// Routed as on the ALB.
        Exact,
        /// Routed, with a stated difference from the ALB (e.g. target group stickiness).
        Approximated,
        /// Never reached: higher-priority rules take its requests.
        Shadowed,
        /// Left out: the profile cannot express it.
        NotRepresentable,
    }
}

impl FateName {
    /// The name of a routing compiler fate.
    pub fn of(fate: &Fate) -> Self {
        match fate {
            Fate::Exact => FateName::Exact,
            Fate::Approximated { .. } => FateName::Approximated,
            Fate::Shadowed { .. } => FateName::Shadowed,
            Fate::NotRepresentable { .. } => FateName::NotRepresentable,
        }
    }
}

words! {
    /// The reason of a Kubernetes Event the operator publishes.
    EventReason {
        /// An ECS-style service event (the same message as in `status.events`).
        ServiceEvent,
        /// A task was stopped.
        TaskStopped,
        /// A task definition revision was registered.
        Registered,
        /// A child the object would write belongs to somebody else; nothing was written.
        ChildConflict,
        /// A service's deployment cannot progress: its deploymentConfiguration lets no task
        /// stop or start.
        DeploymentConfigurationStuck,
        /// The object does not parse as its kind (after a schema change, or written past the
        /// schema); it is not reconciled until it does.
        Malformed,
        /// A step scaling alarm's metric cannot be read: its metrics API is not served or the
        /// metric is not mapped (published once per alarm and reason).
        MetricUnavailable,
    }
}

words! {
    /// The action of a Kubernetes Event the operator publishes.
    EventAction {
        /// Reconciling the object.
        Reconcile,
        /// Stopping a task.
        StopTask,
        /// Registering a task definition revision.
        RegisterTaskDefinition,
        /// Setting a service's desired count or capacity bounds (step or scheduled scaling).
        Scale,
        /// Reading a step scaling alarm's metric.
        ReadMetric,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_written_as_ecs_and_kubernetes_write_them() {
        assert_eq!(ConditionType::Ready.as_str(), "Ready");
        assert_eq!(
            Reason::TaskDefinitionNotFound.as_str(),
            "TaskDefinitionNotFound"
        );
        assert_eq!(RolloutState::InProgress.as_str(), "IN_PROGRESS");
        assert_eq!(RolloutState::parse("FAILED"), Some(RolloutState::Failed));
        assert_eq!(RolloutState::parse("PRIMARY"), None);
        assert_eq!(DeploymentStatus::Primary.as_str(), "PRIMARY");
        assert_eq!(TaskStatus::Provisioning.as_str(), "PROVISIONING");
        assert_eq!(
            StopCode::EssentialContainerExited.as_str(),
            "EssentialContainerExited"
        );
        assert_eq!(
            FateName::of(&Fate::Shadowed { by: vec![] }).as_str(),
            "Shadowed"
        );
    }
}
