//! The scheduler's spans reach dagger-profile: compute spans per task with their processor,
//! in order, exported as a trace with one track per processor.

use dagger::{debug_compute, delayed, Context, Thunk};

#[test]
fn debug_compute_records_every_task_on_its_processor() {
    if crate::alone::rerun(
        module_path!(),
        "debug_compute_records_every_task_on_its_processor",
    ) {
        return;
    }
    let ctx = Context::builder().threads(2).build();
    let leaves: Vec<Thunk<u64>> = (0..16u64)
        .map(|i| {
            delayed(
                move |()| {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    i
                },
                (),
            )
        })
        .collect();
    let mut level = leaves;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| delayed(|(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    let (events, result) = debug_compute(&ctx, &level[0]);
    assert_eq!(result.unwrap().fetch().unwrap(), (0..16).sum::<u64>());
    let compute: Vec<_> = events.iter().filter(|e| e.category == "compute").collect();
    assert_eq!(compute.len(), 31, "one compute span per task");
    for e in &compute {
        assert!(e.start_ns <= e.finish_ns);
        assert!(e.timeline.starts_with("ThreadProc(w1, "), "{}", e.timeline);
    }
    let timelines: std::collections::BTreeSet<_> =
        compute.iter().map(|e| e.timeline.clone()).collect();
    assert_eq!(timelines.len(), 2, "both threads worked: {timelines:?}");
    let trace = dagger::profile::chrome_trace(&events);
    let text = serde_json::to_string(&trace).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let names: std::collections::BTreeSet<String> = parsed["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap().to_string())
        .collect();
    for t in &timelines {
        assert!(names.contains(t), "{t} has a track: {names:?}");
    }
}
