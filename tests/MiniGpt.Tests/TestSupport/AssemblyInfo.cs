// TorchSharp's default generator and thread pool are process-wide; tests that seed them must not interleave.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
