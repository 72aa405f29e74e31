//! Translation speed: a typical service (three containers, two target groups, CPU and memory
//! autoscaling) from loaded custom resources to Kubernetes objects and report.
//!
//! Run: `cargo bench --bench render -- --warm-up-time 1 --measurement-time 3`
//! (figures in docs/performance.md).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use ecsplane::translate::pod::{Workload, pod_template};
use ecsplane::translate::report::Report;

/// The allocator the `ecsplane` binary uses (src/main.rs), so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fixture() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render/typical-service.yaml");
    std::fs::read_to_string(&path).expect("fixture exists")
}

fn bench(c: &mut Criterion) {
    let text = fixture();
    let (bundle, errors) = ecsplane::load::load_str("typical-service.yaml", &text);
    assert!(errors.is_empty(), "{errors}");
    c.bench_function("translate typical service", |b| {
        b.iter(|| ecsplane::translate::translate(black_box(&bundle)).expect("translates"))
    });
    let td = &bundle.task_definitions[0].object;
    c.bench_function("pod template of the typical task definition", |b| {
        b.iter(|| {
            pod_template(black_box(td), Workload::Service, &mut Report::default())
                .expect("translates")
        })
    });
    c.bench_function("load, validate and translate typical service", |b| {
        b.iter(|| {
            let (bundle, _) = ecsplane::load::load_str("typical-service.yaml", black_box(&text));
            ecsplane::translate::translate(&bundle).expect("translates")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
