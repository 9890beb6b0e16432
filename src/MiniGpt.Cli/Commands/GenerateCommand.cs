using System.CommandLine;
using System.Diagnostics;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Generation;
using TorchSharp;

namespace MiniGpt.Cli.Commands;

public static class GenerateCommand
{
    public static Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a run's out dir (its best.ckpt, else last.ckpt), a .ckpt file, a Hugging Face GPT-2 folder, or gpt2 … gpt2-xl", Required = true };
        var prompt = new Option<string?>("--prompt") { Description = "text to continue (default: a newline)" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "read the prompt from a file" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens to generate per sample", DefaultValueFactory = _ => 500 };
        var temperature = new Option<double>("--temperature") { Description = "0 is greedy", DefaultValueFactory = _ => 0.8 };
        var topK = OptionalNumber.Create<int>("--top-k", "sample only from the k most likely tokens");
        var topP = OptionalNumber.Create<double>("--top-p", "sample only from the smallest set of tokens with this much probability");
        var samples = new Option<int>("--num-samples") { Description = "independent samples to print", DefaultValueFactory = _ => 1 };
        var seed = new Option<long>("--seed") { Description = "the same seed gives the same text", DefaultValueFactory = _ => 1337 };
        var noCache = new Option<bool>("--no-kv-cache") { Description = "recompute the whole context for every token" };
        var device = new ChoiceOption<DeviceKind>("--device", "where to run", DeviceKind.Auto);
        var cmd = new Command("generate", "Stream text from a trained checkpoint.")
        {
            checkpoint, prompt, promptFile, maxNew, temperature, topK, topP, samples, seed, noCache, device.Option,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            NativeTorch.Load();
            var options = new SamplingOptions(r.GetValue(temperature), r.GetValue(topK), r.GetValue(topP));
            var problems = options.Problems().ToList();
            if (r.GetValue(maxNew) < 0) problems.Add(new("max_new_tokens", ConfigProblem.Show(r.GetValue(maxNew)), "must be ≥ 0"));
            if (r.GetValue(samples) < 1) problems.Add(new("num_samples", ConfigProblem.Show(r.GetValue(samples)), "must be ≥ 1"));
            if (r.GetValue(prompt) is not null && r.GetValue(promptFile) is not null) problems.Add(new("prompt_file", null, "give --prompt or --prompt-file, not both"));
            if (problems.Count > 0) throw new ConfigException(problems);
            var text = r.GetValue(promptFile) is { } pf
                ? (File.Exists(pf) ? File.ReadAllText(pf) : throw new DataException(pf, $"prompt file {pf} not found"))
                : r.GetValue(prompt) ?? "";
            using var m = TrainedModel.Load(r.GetValue(checkpoint)!, device.Get(r), Downloads.OptionsFor(r.GetValue(checkpoint)!), new Downloads());
            var ids = m.EncodePrompt(text);   // a prompt longer than block_size: the generator keeps its last block
            var generator = new TextGenerator(m.Model, useKvCache: !r.GetValue(noCache));
            using var rng = new torch.Generator((ulong)r.GetValue(seed));
            var stdout = Console.Out;
            for (int s = 0; s < r.GetValue(samples); s++)
            {
                if (s > 0) stdout.Write("\n---------------\n");
                stdout.Write(text);
                var decoder = new StreamingDecoder(m.Tokenizer);
                var clock = Stopwatch.StartNew();
                double firstToken = 0;
                int count = 0;
                foreach (var id in generator.Generate(ids, r.GetValue(maxNew), options, rng))
                {
                    if (count++ == 0) firstToken = clock.Elapsed.TotalMilliseconds;
                    stdout.Write(decoder.Push(id));
                    stdout.Flush();
                }
                stdout.Write(decoder.Flush());
                stdout.Flush();
                double seconds = clock.Elapsed.TotalSeconds;
                Console.Error.WriteLine($"\n[sample {s + 1}: {count} tokens in {seconds:F2} s, {count / Math.Max(seconds, 1e-9):F1} tokens/s, first token after {firstToken:F1} ms, KV cache {(r.GetValue(noCache) ? "off" : "on")}]");
            }
            stdout.WriteLine();
            return 0;
        }, cmd.Options));
        return cmd;
    }
}
