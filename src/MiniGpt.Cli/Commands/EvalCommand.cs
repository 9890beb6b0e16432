using System.CommandLine;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Training;

namespace MiniGpt.Cli.Commands;

public static class EvalCommand
{
    public static Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a run's out dir (its best.ckpt, else last.ckpt), a .ckpt file, a Hugging Face GPT-2 folder, or gpt2 … gpt2-xl", Required = true };
        var split = new ChoiceOption<Split>("--split", "which split of the run's token cache to draw batches from", Split.Val);
        var text = new Option<string?>("--text") { Description = "evaluate on a text file instead, tokenized with the checkpoint's tokenizer" };
        var batches = OptionalNumber.Create<int>("--batches", "batches to average over a split (default: the run's eval_iters)");
        var dataDir = new Option<string?>("--data-dir") { Description = "the token cache, if not where the run's config says" };
        var device = new ChoiceOption<DeviceKind>("--device", "where to run", DeviceKind.Auto);
        var cmd = new Command("eval", "Report loss, perplexity and bits per character (or byte) of a checkpoint.")
        {
            checkpoint, split.Option, text, batches, dataDir, device.Option,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            NativeTorch.Load();
            using var downloads = new Downloads();
            using var m = TrainedModel.Load(r.GetValue(checkpoint)!, device.Get(r), Downloads.OptionsFor(r.GetValue(checkpoint)!), downloads);
            EvalReport report;
            if (r.GetValue(text) is { } path) report = Evaluation.OnText(m, path);
            else
            {
                // The number of batches is the checkpoint's eval_iters unless given: what it costs shows as it goes.
                int n = r.GetValue(batches) ?? m.Config.EvalIters;
                var progress = new BatchProgress(Console.Error, live: !Console.IsErrorRedirected, n);
                try { report = Evaluation.OnSplit(m, split.Get(r), n, r.GetValue(dataDir), progress); }
                finally { progress.End(); }
            }
            Console.WriteLine($"checkpoint  {m.Path} (step {m.Step})");
            Console.WriteLine($"data        {report.Source}, {report.Tokens:N0} predicted tokens");
            Console.WriteLine($"loss        {report.Loss:F4} nats/token");
            Console.WriteLine($"perplexity  {report.Perplexity:F3}");
            Console.WriteLine($"bits/{report.Unit,-5} {report.BitsPerUnit:F4}");
            return 0;
        }, cmd.Options));
        return cmd;
    }

    /// <summary>
    /// Progress through a split's batches on stderr, for evaluations that take a while: on a terminal a bar rewritten
    /// in place (batches, ETA), when redirected the same words as a line per 10 %, from the first second on.
    /// </summary>
    public sealed class BatchProgress(TextWriter error, bool live, int total) : IProgress<int>
    {
        readonly ProgressOutput output = new(error, live);

        /// <summary>Ends a bar's line, if one is open.</summary>
        public void End() => output.End();

        public void Report(int done)
        {
            if (!output.Due(done, total)) return;
            double share = (double)done / Math.Max(total, 1), left = output.Seconds / done * (total - done);
            output.Draw($"eval {(output.Live ? ProgressLine.Bar(share) : "")}{100 * share,5:F1}%  {done:N0}/{total:N0} batches  ETA {ProgressLine.Eta(left)}");
        }
    }
}
