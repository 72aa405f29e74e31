//! ECS resource units and their Kubernetes quantities.
//!
//! - CPU: 1024 ECS CPU units = one vCPU = one Kubernetes core = `1000m`. Task-level CPU may be
//!   written as units (`"256"`, `1024`) or vCPUs (`"1 vCPU"`, `"0.5 vcpu"`).
//! - Memory: ECS memory is in MiB (`"512"`, `2048`) or with a unit (`"2 GB"`, `"1 GiB"`,
//!   `"512 MiB"`). ECS treats `GB` as GiB (its console and API documentation use "GB" for
//!   1024 MiB), so `"2 GB"` is 2048 MiB.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// CPU units (1024 per vCPU) from a task-level `cpu` value. `None` when the text is not a
/// CPU amount.
pub fn task_cpu_units(value: &IntOrString) -> Option<u64> {
    match value {
        IntOrString::Int(n) => u64::try_from(*n).ok(),
        IntOrString::String(s) => {
            let s = s.trim();
            let lower = s.to_ascii_lowercase();
            let (number, is_vcpu) = match lower
                .strip_suffix("vcpus")
                .or_else(|| lower.strip_suffix("vcpu"))
            {
                Some(n) => (n.trim().to_owned(), true),
                None => (lower.clone(), false),
            };
            let n = parse_decimal(&number)?;
            let units = if is_vcpu { n * 1024.0 } else { n };
            (units.fract() == 0.0 && units >= 0.0).then_some(units as u64)
        }
    }
}

/// MiB from a task-level `memory` value. `None` when the text is not a memory amount.
pub fn task_memory_mib(value: &IntOrString) -> Option<u64> {
    match value {
        IntOrString::Int(n) => u64::try_from(*n).ok(),
        IntOrString::String(s) => {
            let lower = s.trim().to_ascii_lowercase();
            let (number, factor) = if let Some(n) = lower
                .strip_suffix("gib")
                .or_else(|| lower.strip_suffix("gb"))
            {
                (n, 1024.0)
            } else if let Some(n) = lower
                .strip_suffix("mib")
                .or_else(|| lower.strip_suffix("mb"))
            {
                (n, 1.0)
            } else {
                (lower.as_str(), 1.0)
            };
            let mib = parse_decimal(number.trim())? * factor;
            (mib.fract() == 0.0 && mib >= 0.0).then_some(mib as u64)
        }
    }
}

fn parse_decimal(s: &str) -> Option<f64> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    s.parse().ok()
}

/// Millicores for CPU units, rounded up to a whole millicore (Kubernetes' finest CPU
/// precision) and whether that rounding changed the amount.
pub fn cpu_millis(units: u64) -> (u64, bool) {
    let exact = units * 1000;
    (exact.div_ceil(1024), !exact.is_multiple_of(1024))
}

/// The Kubernetes CPU quantity for ECS CPU units: whole cores when exact (`1024` → `1`),
/// millicores otherwise (`256` → `250m`).
pub fn cpu_quantity(units: u64) -> Quantity {
    let (millis, _) = cpu_millis(units);
    if millis % 1000 == 0 {
        Quantity((millis / 1000).to_string())
    } else {
        Quantity(format!("{millis}m"))
    }
}

/// The Kubernetes memory quantity for MiB: `Gi` when whole, `Mi` otherwise.
pub fn memory_quantity(mib: u64) -> Quantity {
    if mib.is_multiple_of(1024) && mib > 0 {
        Quantity(format!("{}Gi", mib / 1024))
    } else {
        Quantity(format!("{mib}Mi"))
    }
}

/// GiB as a quantity (ephemeral storage).
pub fn gib_quantity(gib: u64) -> Quantity {
    Quantity(format!("{gib}Gi"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &str) -> IntOrString {
        IntOrString::String(v.into())
    }

    #[test]
    fn task_cpu_accepts_units_and_vcpus_as_ecs_does() {
        assert_eq!(task_cpu_units(&s("256")), Some(256));
        assert_eq!(task_cpu_units(&IntOrString::Int(1024)), Some(1024));
        assert_eq!(task_cpu_units(&s("1 vCPU")), Some(1024));
        assert_eq!(task_cpu_units(&s("0.5 vcpu")), Some(512));
        assert_eq!(task_cpu_units(&s("2 vcpus")), Some(2048));
        assert_eq!(task_cpu_units(&s(" 4vCPU ")), Some(4096));
        assert_eq!(task_cpu_units(&s("lots")), None);
    }

    #[test]
    fn task_memory_accepts_mib_and_sizes_as_ecs_does() {
        assert_eq!(task_memory_mib(&s("512")), Some(512));
        assert_eq!(task_memory_mib(&IntOrString::Int(2048)), Some(2048));
        assert_eq!(task_memory_mib(&s("2 GB")), Some(2048));
        assert_eq!(task_memory_mib(&s("1 GiB")), Some(1024));
        assert_eq!(task_memory_mib(&s("0.5 gb")), Some(512));
        assert_eq!(task_memory_mib(&s("512 MiB")), Some(512));
        assert_eq!(task_memory_mib(&s("much")), None);
    }

    #[test]
    fn cpu_units_become_cores_of_1024_units() {
        assert_eq!(cpu_quantity(256), Quantity("250m".into()));
        assert_eq!(cpu_quantity(1024), Quantity("1".into()));
        assert_eq!(cpu_quantity(512), Quantity("500m".into()));
        assert_eq!(cpu_quantity(100), Quantity("98m".into()));
        assert_eq!(cpu_millis(100), (98, true));
        assert_eq!(cpu_millis(2048), (2000, false));
    }

    #[test]
    fn memory_becomes_binary_quantities() {
        assert_eq!(memory_quantity(512), Quantity("512Mi".into()));
        assert_eq!(memory_quantity(2048), Quantity("2Gi".into()));
        assert_eq!(memory_quantity(0), Quantity("0Mi".into()));
    }

    proptest! {
        #[test]
        fn vcpu_strings_are_1024_units_per_vcpu(quarters in 1u64..=64) {
            let text = format!("{} vCPU", quarters as f64 / 4.0);
            prop_assert_eq!(task_cpu_units(&s(&text)), Some(quarters * 256));
        }

        #[test]
        fn unit_strings_and_integers_agree(units in 0i32..=196_608) {
            prop_assert_eq!(task_cpu_units(&s(&units.to_string())), task_cpu_units(&IntOrString::Int(units)));
        }

        #[test]
        fn gb_strings_are_1024_mib_per_gb(gb in 1u64..=120) {
            prop_assert_eq!(task_memory_mib(&s(&format!("{gb} GB"))), Some(gb * 1024));
            prop_assert_eq!(task_memory_mib(&s(&format!("{gb} GiB"))), Some(gb * 1024));
        }

        #[test]
        fn millicores_never_under_reserve_and_are_within_one_millicore(units in 0u64..=196_608) {
            let (millis, rounded) = cpu_millis(units);
            let exact = units as f64 * 1000.0 / 1024.0;
            prop_assert!(millis as f64 >= exact);
            prop_assert!((millis as f64 - exact) < 1.0);
            prop_assert_eq!(rounded, millis as f64 != exact);
        }
    }
}
