//! `lstmcast demo --example N`.

use crate::cli::DemoArgs;

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let r = lstmcast::demo::run_example(a.example, a.seed, a.epochs, a.threads.into())?;
    if a.output.json {
        println!("{}", serde_json::to_string(&r)?);
    } else if a.output.text() {
        println!("example {}: {}", r.example, r.model);
        println!(
            "  windows      {} train / {} test",
            r.windows[0], r.windows[1]
        );
        println!("  parameters   {}", r.params);
        println!("  test MSE     {:.3e}", r.test_mse);
        println!("  train time   {:.3} s ({} epochs)", r.train_s, r.epochs);
        println!("  predict one  {:.1} µs", r.predict_one_us);
    }
    Ok(())
}
