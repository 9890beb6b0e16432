using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Training;
using TorchSharp;

namespace MiniGpt.Cli.Commands;

public static class BenchCommand
{
    public static Command Build()
    {
        var config = new Option<string>("--config") { Description = "the config whose model and batch to time", DefaultValueFactory = _ => TrainCommand.DefaultConfig };
        var iters = OptionalNumber.WithDefault<int>("--iters", "timed steps", 50);
        var warmup = OptionalNumber.WithDefault<int>("--warmup", "untimed steps first", 10);
        var device = new ChoiceOption<DeviceKind>("--device", "where to run (default: the config's device)");
        var dtype = new ChoiceOption<Precision>("--dtype", "the matrix products' precision (default: the config's dtype)");
        var peak = OptionalNumber.Create<double>("--peak-flops", "the device's peak FLOP/s for mfu (default: the config's peak_flops if it sets one, else measured here with a large matrix product in the run's dtype)");
        var syncEvery = OptionalNumber.WithDefault<int>("--sync-every", "steps per timed window; the host waits for the device once per window (1 times each step alone)", 1);
        var vocab = OptionalNumber.WithDefault<int>("--vocab-size", "vocabulary of the random batches", 65);
        var generate = new Option<bool>("--generate") { Description = "time sampling instead: prefill and decode tokens/s, with and without the KV cache" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "--generate: a model to sample from (default: the config's model at its initial weights)" };
        var promptTokens = OptionalNumber.WithDefault<int>("--prompt-tokens", "--generate: random prompt length for the prefill (kept to block_size)", 1000);
        var newTokens = OptionalNumber.WithDefault<int>("--max-new-tokens", "--generate: tokens to decode", 500);
        var samples = OptionalNumber.WithDefault<int>("--num-samples", "--generate: samples decoded together in one batch", 1);
        var rounds = OptionalNumber.WithDefault<int>("--rounds", "--generate: rounds per figure (the median is reported; decoding without the cache runs once)", 3);
        var noUncached = new Option<bool>("--skip-uncached") { Description = "--generate: do not time decoding without the cache (slow for large models)" };
        var cmd = new Command("bench", "Time training steps on random batches and print JSON: ms_per_iter (median), tokens_per_sec, mfu, parameters, memory. With --generate, time sampling.")
        {
            config, iters, warmup, syncEvery, device.Option, dtype.Option, peak, vocab, generate, checkpoint, promptTokens, newTokens, samples, rounds, noUncached,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            // A flag of the other mode was dropped without a word, whatever its value.
            Option[] stepOnly = [iters, warmup, syncEvery, peak], sampleOnly = [checkpoint, promptTokens, newTokens, samples, rounds, noUncached];
            if ((r.GetValue(generate) ? stepOnly : sampleOnly).Where(o => r.GetResult(o) is { Implicit: false }).ToList() is { Count: > 0 } misplaced)
                throw new ConfigException(misplaced.Select(o => new ConfigProblem(o.Name[2..].Replace('-', '_'), null,
                    r.GetValue(generate) ? "times training steps, not sampling: drop it with --generate" : "applies with --generate only")).ToList());
            // stdout is the JSON alone, for scripts to parse: anything else printed on the way goes to stderr.
            var stdout = Console.Out;
            Console.SetOut(Console.Error);
            Dictionary<string, object?> json;
            try { json = r.GetValue(generate) ? MeasureSampling(r) : Measure(r); }
            finally { Console.SetOut(stdout); }
            Console.WriteLine(JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }, cmd.Options));
        return cmd;

        // A device the config file names is that file's problem, not --device's, when the flag was not given.
        torch.Device Resolve(TrainConfig c, ParseResult r)
        {
            try { return Devices.Resolve(c.Device); }
            catch (ConfigException e) when (device.Find(r) is null)
            {
                throw new ConfigException(e.Problems.Select(p => p.Key == "device" && p.Origin is null ? p with { Origin = r.GetValue(config) } : p).ToList());
            }
        }

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
            bool cuda = Resolve(c, r).type == TorchSharp.DeviceType.CUDA;
            if (c.Device == DeviceKind.Auto && !cuda) Console.Error.WriteLine("warning: device = auto found no CUDA device (or no CUDA libtorch); timing the CPU");
            var gpu = cuda ? NvidiaSmi.GpuName() : null;
            string peakSource = r.GetValue(peak) is not null ? "--peak-flops" : "config peak_flops";
            // No peak given: measure what this device attains, so that mfu means something on a CPU too.
            if (peakSource != "--peak-flops" && Equals(c.PeakFlops, TrainConfig.Schema["peak_flops"].Default))
            {
                var measured = PeakFlops.Measure(Devices.Resolve(c.Device), c.Dtype == Precision.BFloat16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
                (c, peakSource) = (c with { PeakFlops = measured.FlopsPerSec }, measured.Method);
            }
            var datasheet = gpu is not null ? NvidiaSmi.PeakFor(gpu) : null;
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
                ["datasheet_peak_flops"] = datasheet?.PeakFlops, ["datasheet_mfu"] = datasheet is { } d ? Math.Round(result.Mfu * result.PeakFlops / d.PeakFlops, 5) : null,
            };
        }

        Dictionary<string, object?> MeasureSampling(ParseResult r)
        {
            NativeTorch.Load();
            var file = TrainConfig.Schema.Load(r.GetValue(config), []);
            var c = TrainConfig.Schema.Validated(file with { Device = device.Find(r) ?? file.Device, Dtype = dtype.Find(r) ?? file.Dtype });
            var where = Resolve(c, r);
            TrainedModel? loaded = null;
            Model.Gpt model;
            if (r.GetValue(checkpoint) is { } ckpt)
            {
                using var downloads = new Downloads();
                loaded = TrainedModel.Load(ckpt, c.Device, Downloads.OptionsFor(ckpt), downloads);
                model = loaded.Model;
                if (c.Dtype == Precision.BFloat16) model.UseComputeDtype(torch.ScalarType.BFloat16);   // as for a config's model
            }
            else model = TrainableModel.ForSampling(c, r.GetValue(vocab), where);
            try
            {
                var s = Generation.SamplingBenchmark.Run(model, r.GetValue(promptTokens), r.GetValue(newTokens), r.GetValue(samples), r.GetValue(rounds), uncached: !r.GetValue(noUncached));
                static double? Round(double x) => double.IsFinite(x) ? Math.Round(x, 1) : null;
                return new Dictionary<string, object?>
                {
                    ["mode"] = "generate", ["model"] = r.GetValue(checkpoint) ?? $"{r.GetValue(config)} at its initial weights",
                    ["device"] = where.type.ToString().ToLowerInvariant(), ["dtype"] = Choices.Name(model.ComputeDtype == TorchSharp.torch.ScalarType.BFloat16 ? Precision.BFloat16 : Precision.Float32),
                    ["parameters"] = model.ParameterCount, ["block_size"] = model.Config.BlockSize, ["vocab_size"] = model.Config.VocabSize,
                    ["num_samples"] = s.Samples, ["decode_threads"] = s.DecodeThreads, ["sliced_rows"] = s.SlicedRows, ["rounds"] = r.GetValue(rounds),
                    ["prompt_tokens"] = s.PromptTokens, ["time_to_first_token_ms"] = Round(s.TimeToFirstTokenMs), ["prefill_tokens_per_sec"] = Round(s.PrefillTokensPerSec),
                    ["time_to_first_token_ms_uncached"] = Round(s.TimeToFirstTokenUncachedMs),
                    ["new_tokens"] = s.NewTokens, ["decode_tokens_per_sec"] = Round(s.DecodeTokensPerSec), ["decode_tokens_per_sec_uncached"] = Round(s.DecodeTokensPerSecUncached),
                    ["cache_speedup"] = double.IsFinite(s.DecodeTokensPerSecUncached) ? Math.Round(s.DecodeTokensPerSec / s.DecodeTokensPerSecUncached, 2) : null,
                    ["decode_tokens_per_sec_all_samples"] = Round(s.DecodeTokensPerSec * s.Samples),
                };
            }
            finally
            {
                if (loaded is not null) loaded.Dispose();
                else model.Dispose();
            }
        }
    }

    static long? PeakRssBytes()
    {
        var line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:")) : null;
        return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }
}
