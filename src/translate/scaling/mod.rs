//! The arithmetic of Application Auto Scaling's step and scheduled scaling, as pure functions
//! (no client, no clock: the caller passes the time): CloudWatch alarm evaluation
//! ([`alarm`]) and the metrics API its metric is read from ([`metric`]), step selection and capacity adjustment ([`step`]), and the next run of a
//! scheduled action ([`schedule`], with AWS's `cron()` syntax in [`cron`]).
//!
//! The operator's scaler (`controller::scaling`) runs these on what it reads from the metrics
//! APIs; `ecsplane render`, which has no clock and no metrics, only checks that the schedules
//! parse and reports both features as needing the operator.
//!
//! References: [aas-step] <https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html>,
//! [aas-sched] <https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scheduled-scaling.html>,
//! [cw-alarms] <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>.

pub mod alarm;
pub mod cron;
pub mod metric;
pub mod schedule;
pub mod step;
