//! Task `volumes` (host paths, Docker volumes, EFS, FSx, EBS), container `mountPoints` and
//! `volumesFrom`, shared memory and tmpfs (memory-backed emptyDirs), and `ephemeralStorage`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, HostPathVolumeSource, PersistentVolumeClaimVolumeSource,
    ResourceRequirements, Volume, VolumeMount,
};

use super::{At, Role};
use crate::api::{ContainerDefinition, DockerVolumeScope, EphemeralStorage, MountPoint, Tmpfs};
use crate::translate::names::dns_label;
use crate::translate::report::{ObjectRef, Report};
use crate::translate::units;

/// The task's `volumes` → pod volumes.
pub(super) fn task_volumes(
    obj: &ObjectRef,
    volumes: &[crate::api::Volume],
    report: &mut Report,
) -> Vec<Volume> {
    volumes
        .iter()
        .map(|v| task_volume(obj, v, report))
        .collect()
}

/// One task volume → a pod volume: a hostPath, an emptyDir (a task-scoped Docker volume, or a
/// stand-in for what is not translated) or a PersistentVolumeClaim (shared Docker volume, EFS).
fn task_volume(obj: &ObjectRef, v: &crate::api::Volume, report: &mut Report) -> Volume {
    let crate::api::Volume {
        name,
        host,
        docker_volume_configuration,
        efs_volume_configuration,
        fsx_windows_file_server_volume_configuration,
        configured_at_launch,
    } = v;
    let field = format!("spec.volumes[{name}]");
    let mut volume = Volume {
        name: dns_label(name),
        ..Volume::default()
    };
    if let Some(path) = host.as_ref().and_then(|h| h.source_path.clone()) {
        volume.host_path = Some(HostPathVolumeSource { path, type_: None });
    } else if let Some(docker) = docker_volume_configuration {
        if docker.scope == Some(DockerVolumeScope::Shared) {
            volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                claim_name: dns_label(name),
                read_only: None,
            });
            report.approximated(obj, field, format!("a shared Docker volume becomes the PersistentVolumeClaim {:?}, which you create (autoprovision, driver and driverOpts are not carried); with tasks on several nodes it needs ReadWriteMany storage", dns_label(name)));
        } else {
            volume.empty_dir = Some(EmptyDirVolumeSource::default());
            if docker.driver.as_deref().is_some_and(|d| d != "local")
                || docker.driver_opts.is_some()
                || docker.labels.is_some()
            {
                report.approximated(obj, field, "a task-scoped Docker volume becomes an emptyDir; its driver, driverOpts and labels are not carried");
            }
        }
    } else if let Some(efs) = efs_volume_configuration {
        let claim = dns_label(&format!("efs-{}", efs.file_system_id));
        let ap = efs
            .authorization_config
            .as_ref()
            .and_then(|a| a.access_point_id.clone());
        let handle = format!(
            "{}:{}:{}",
            efs.file_system_id,
            efs.root_directory.as_deref().unwrap_or(""),
            ap.unwrap_or_default()
        );
        volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.clone(),
            read_only: None,
        });
        report.approximated(obj, field, format!("EFS is mounted through the EFS CSI driver: create a PersistentVolume with driver efs.csi.aws.com and volumeHandle {handle:?} (mount option tls when transitEncryption is ENABLED) bound to the PersistentVolumeClaim {claim:?}"));
    } else if fsx_windows_file_server_volume_configuration.is_some() {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
        report.not_carried(obj, field, "FSx for Windows File Server volumes are not translated (an SMB CSI driver would be needed); an empty scratch volume stands in so the mounts stay valid");
    } else if configured_at_launch == &Some(true) {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
        report.not_carried(obj, field, "an EBS volume configured at launch is not translated; an empty scratch volume stands in (use a generic ephemeral volume or a PVC)");
    } else {
        volume.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    volume
}

/// ECS volume name → the name of its pod volume.
pub(super) fn volume_names(volumes: &[crate::api::Volume]) -> BTreeMap<&str, String> {
    volumes
        .iter()
        .map(|v| (v.name.as_str(), dns_label(&v.name)))
        .collect()
}

/// A container's `mountPoints` → volume mounts of the task volumes.
pub(super) fn mount_points(
    at: At<'_>,
    mount_points: Option<&[MountPoint]>,
    volume_names: &BTreeMap<&str, String>,
    report: &mut Report,
) -> Vec<VolumeMount> {
    let mut mounts = Vec::new();
    for m in mount_points.into_iter().flatten() {
        let (Some(src), Some(path)) = (&m.source_volume, &m.container_path) else {
            report.not_carried(
                at.obj,
                at.field("mountPoints"),
                "a mount point without sourceVolume or containerPath mounts nothing",
            );
            continue;
        };
        mounts.push(VolumeMount {
            name: volume_names
                .get(src.as_str())
                .cloned()
                .unwrap_or_else(|| dns_label(src)),
            mount_path: path.clone(),
            read_only: m.read_only.filter(|r| *r),
            ..VolumeMount::default()
        });
    }
    mounts
}

/// `linuxParameters.sharedMemorySize` (MiB) → a memory-backed volume of the container mounted
/// at /dev/shm.
pub(super) fn shared_memory(k8s_name: &str, size_mib: i32) -> (Volume, VolumeMount) {
    let vname = dns_label(&format!("shm-{k8s_name}"));
    let mount = VolumeMount {
        name: vname.clone(),
        mount_path: "/dev/shm".into(),
        ..VolumeMount::default()
    };
    (memory_volume(&vname, size_mib), mount)
}

/// `linuxParameters.tmpfs` → one memory-backed volume of the container per tmpfs mount.
pub(super) fn tmpfs(
    at: At<'_>,
    k8s_name: &str,
    tmpfs: Option<&[Tmpfs]>,
    report: &mut Report,
) -> Vec<(Volume, VolumeMount)> {
    let mut out = Vec::new();
    for (j, t) in tmpfs.into_iter().flatten().enumerate() {
        let vname = dns_label(&format!("tmpfs-{k8s_name}-{j}"));
        let volume = memory_volume(&vname, t.size);
        out.push((
            volume,
            VolumeMount {
                name: vname,
                mount_path: t.container_path.clone(),
                ..VolumeMount::default()
            },
        ));
        if t.mount_options.as_ref().is_some_and(|o| !o.is_empty()) {
            report.not_carried(
                at.obj,
                at.field("linuxParameters.tmpfs"),
                "tmpfs mount options are not carried (a memory-backed emptyDir has none)",
            );
        }
    }
    out
}

fn memory_volume(name: &str, size_mib: i32) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(units::memory_quantity(size_mib.max(0) as u64)),
        }),
        ..Volume::default()
    }
}

/// `volumesFrom`: each container gets the source container's mounts (`mounts_of`, by ECS
/// container name), read-only if asked, unless it already mounts something at that path.
pub(super) fn volumes_from(
    obj: &ObjectRef,
    containers: &[ContainerDefinition],
    mounts_of: &BTreeMap<String, Vec<VolumeMount>>,
    built: &mut [Container],
    report: &mut Report,
) {
    for (i, c) in containers.iter().enumerate() {
        for vf in c.volumes_from.iter().flatten() {
            let Some(src) = mounts_of.get(&vf.source_container) else {
                continue;
            };
            let extra: Vec<VolumeMount> = src
                .iter()
                .map(|m| VolumeMount {
                    read_only: if vf.read_only == Some(true) {
                        Some(true)
                    } else {
                        m.read_only
                    },
                    ..m.clone()
                })
                .collect();
            let target = built[i].volume_mounts.get_or_insert_with(Vec::new);
            for m in extra {
                if !target.iter().any(|t| t.mount_path == m.mount_path) {
                    target.push(m);
                }
            }
            report.approximated(obj, format!("spec.containerDefinitions[{}].volumesFrom", c.name), format!("the task-definition volumes of {:?} are mounted at the same paths; volumes declared only in its image (VOLUME) cannot be shared", vf.source_container));
        }
    }
}

/// `ephemeralStorage` → the ephemeral-storage limit of the first regular container (Kubernetes
/// limits it per container).
pub(super) fn ephemeral_storage(
    obj: &ObjectRef,
    es: &EphemeralStorage,
    roles: &[Role],
    built: &mut [Container],
    report: &mut Report,
) {
    let main = roles.iter().position(|r| *r == Role::Main).unwrap_or(0);
    let Some(container) = built.get_mut(main) else {
        return;
    };
    let res = container
        .resources
        .get_or_insert_with(ResourceRequirements::default);
    res.limits.get_or_insert_with(BTreeMap::new).insert(
        "ephemeral-storage".into(),
        units::gib_quantity(es.size_in_gi_b as u64),
    );
    report.approximated(obj, "spec.ephemeralStorage", format!("Kubernetes limits ephemeral storage per container: the task's {} GiB are the limit of container {:?}; the image does not count against it", es.size_in_gi_b, container.name));
}
