using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using MiniGpt.Config;
using MiniGpt.Training;

namespace MiniGpt.Cli.Commands;

public static class BenchCommand
{
    public static Command Build()
    {
        var config = new Option<string>("--config") { Description = "the config whose model and batch to time", DefaultValueFactory = _ => TrainCommand.DefaultConfig };
        var iters = new Option<int>("--iters") { Description = "timed steps", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps first", DefaultValueFactory = _ => 10 };
        var device = new ChoiceOption<DeviceKind>("--device", "where to run (default: the config's device)");
        var dtype = new ChoiceOption<Precision>("--dtype", "the matrix products' precision (default: the config's dtype)");
        var peak = OptionalNumber.Create<double>("--peak-flops", "the device's peak FLOP/s for mfu (default: the config's peak_flops; where that is the default, H100 SXM's 989e12, the peak of a GPU nvidia-smi names)");
        var syncEvery = new Option<int>("--sync-every") { Description = "steps per timed window; the host waits for the device once per window (1 times each step alone)", DefaultValueFactory = _ => 1 };
        var vocab = new Option<int>("--vocab-size") { Description = "vocabulary of the random batches", DefaultValueFactory = _ => 65 };
        var cmd = new Command("bench", "Time training steps on random batches and print JSON: ms_per_iter (median), tokens_per_sec, mfu, parameters, memory.")
        {
            config, iters, warmup, syncEvery, device.Option, dtype.Option, peak, vocab,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            // stdout is the JSON alone, for scripts to parse: anything else printed on the way goes to stderr.
            var stdout = Console.Out;
            Console.SetOut(Console.Error);
            Dictionary<string, object?> json;
            try { json = Measure(r); }
            finally { Console.SetOut(stdout); }
            Console.WriteLine(JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }, cmd.Options));
        return cmd;

        Dictionary<string, object?> Measure(ParseResult r)
        {
            NativeTorch.Load();
            var file = TrainConfig.Schema.Load(r.GetValue(config), []);
            // The flags' values are validated on their own, so that a problem names the flag, not the file.
            var c = TrainConfig.Schema.Validated(file with
            {
                Device = device.Find(r) ?? file.Device,
                Dtype = dtype.Find(r) ?? file.Dtype,
                PeakFlops = r.GetValue(peak) ?? file.PeakFlops,
            });
            bool cuda = Devices.Resolve(c.Device).type == TorchSharp.DeviceType.CUDA;
            if (c.Device == DeviceKind.Auto && !cuda) Console.Error.WriteLine("warning: device = auto found no CUDA device (or no CUDA libtorch); timing the CPU");
            var gpu = cuda ? NvidiaSmi.GpuName() : null;
            string peakSource = r.GetValue(peak) is not null ? "--peak-flops" : "config peak_flops";
            // The config's default peak is an H100 SXM's; on another known GPU its own peak is the fairer denominator.
            if (peakSource != "--peak-flops" && Equals(c.PeakFlops, TrainConfig.Schema["peak_flops"].Default) && gpu is not null && NvidiaSmi.PeakFor(gpu) is { } known)
                (c, peakSource) = (c with { PeakFlops = known.PeakFlops }, $"dense bf16 peak of the {known.Model}");
            var result = StepBenchmark.Run(c, r.GetValue(vocab), r.GetValue(iters), r.GetValue(warmup), r.GetValue(syncEvery),
                memory: cuda ? NvidiaSmi.ProcessMemoryBytes : PeakRssBytes);
            return new Dictionary<string, object?>
            {
                ["config"] = r.GetValue(config), ["device"] = result.Device, ["gpu"] = gpu, ["dtype"] = Choices.Name(result.Dtype), ["parameters"] = result.Parameters,
                ["batch_size"] = c.BatchSize, ["block_size"] = c.BlockSize, ["gradient_accumulation_steps"] = c.GradientAccumulationSteps,
                ["iters"] = result.Iters, ["warmup"] = result.Warmup, ["sync_every"] = result.SyncEvery,
                ["ms_per_iter"] = Math.Round(result.MsPerIter, 3), ["ms_per_iter_mean"] = Math.Round(result.MsPerIterMean, 3),
                ["tokens_per_sec"] = Math.Round(result.TokensPerSec), ["mfu"] = Math.Round(result.Mfu, 5),
                ["peak_flops"] = result.PeakFlops, ["peak_flops_source"] = peakSource, ["flops_per_token"] = result.FlopsPerToken, ["flops_formula"] = result.FlopsFormula,
                ["memory_bytes"] = result.MemoryBytes, ["memory_source"] = cuda ? "nvidia-smi --query-compute-apps, this process, model alive" : "peak RSS (VmHWM)",
            };
        }
    }

    static long? PeakRssBytes()
    {
        var line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:")) : null;
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }
}
