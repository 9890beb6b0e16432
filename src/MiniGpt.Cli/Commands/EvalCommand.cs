using System.CommandLine;
using MiniGpt.Generation;

namespace MiniGpt.Cli.Commands;

public static class EvalCommand
{
    public static Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a run's out dir (its best.ckpt, else last.ckpt) or a .ckpt file", Required = true };
        var split = new Option<string>("--split") { Description = "val | train: batches from the run's token cache", DefaultValueFactory = _ => "val" };
        var text = new Option<string?>("--text") { Description = "evaluate on a text file instead, tokenized with the checkpoint's tokenizer" };
        var batches = new Option<int>("--batches") { Description = "batches to average over a split (default: the run's eval_iters)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "the token cache, if not where the run's config says" };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("eval", "Report loss, perplexity and bits per character (or byte) of a checkpoint.")
        {
            checkpoint, split, text, batches, dataDir, device,
        };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            using var m = TrainedModel.Load(r.GetValue(checkpoint)!, r.GetValue(device)!);
            var report = r.GetValue(text) is { } path
                ? Evaluation.OnText(m, path)
                : Evaluation.OnSplit(m, r.GetValue(split)!, r.GetValue(batches) is > 0 and var b ? b : m.Config.EvalIters, r.GetValue(dataDir));
            Console.WriteLine($"checkpoint  {m.Path} (step {m.Step})");
            Console.WriteLine($"data        {report.Source}, {report.Tokens:N0} predicted tokens");
            Console.WriteLine($"loss        {report.Loss:F4} nats/token");
            Console.WriteLine($"perplexity  {report.Perplexity:F3}");
            Console.WriteLine($"bits/{report.Unit,-5} {report.BitsPerUnit:F4}");
            return 0;
        }));
        return cmd;
    }
}
