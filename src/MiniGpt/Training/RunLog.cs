using System.Text.Json;
using MiniGpt.IO;
using TorchSharp;

namespace MiniGpt.Training;

/// <summary>One line of metrics.jsonl, written at each evaluation.</summary>
public sealed record EvalRecord(int Step, double TrainLoss, double ValLoss, double Lr, double TokensPerSec, double ElapsedS);

/// <summary>
/// What a run leaves for people and scripts in its out dir: TensorBoard event files (TorchSharp's
/// SummaryWriter) and metrics.jsonl, one JSON object per evaluation.
/// </summary>
public sealed class RunLog
{
    public const string MetricsFile = "metrics.jsonl";
    readonly TorchSharp.Modules.SummaryWriter writer;
    readonly string metricsPath;
    // Every field is required: a record missing one read as 0 (a best val loss of 0 at a step that had none).
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, RespectRequiredConstructorParameters = true };

    /// <param name="fromStep">The step this process starts at. metrics.jsonl keeps only the evaluations before it
    /// (a resumed run evaluates its first step again, and a killed one may have logged past its checkpoint),
    /// and loses a last line that a kill cut short.</param>
    public RunLog(string outDir, int fromStep)
    {
        Directory.CreateDirectory(outDir);
        metricsPath = Path.Combine(outDir, MetricsFile);
        // A metrics.jsonl of no bytes holds no records, and if it is a pipe, appending to it would wait for a reader for
        // ever: it is made an ordinary empty file.
        if (File.Exists(metricsPath) && EmptyFile.Is(metricsPath)) AtomicFile.WriteAllText(metricsPath, "");
        else if (File.Exists(metricsPath))   // first: a damaged file stops the run before it writes anything
        {
            var text = Read(metricsPath);
            var kept = Records(text, metricsPath).Where(r => r.Record.Step < fromStep).Select(r => r.Line + "\n");
            var repaired = string.Concat(kept);
            if (repaired != text) AtomicFile.WriteAllText(metricsPath, repaired);
        }
        writer = torch.utils.tensorboard.SummaryWriter(outDir);
    }

    public void Scalar(string tag, double value, int step) => writer.add_scalar(tag, (float)value, step);

    public void Text(string tag, string text, int step) => writer.add_text(tag, text, step);

    public void Eval(EvalRecord r)
    {
        Scalar("train/loss_eval", r.TrainLoss, r.Step);
        Scalar("val/loss", r.ValLoss, r.Step);
        File.AppendAllText(metricsPath, JsonSerializer.Serialize(r, Json) + "\n");
    }

    /// <summary>The evaluations in a run's metrics.jsonl; a last line cut short by a kill is left out.</summary>
    public static IReadOnlyList<EvalRecord> ReadMetrics(string outDir)
    {
        var path = Path.Combine(outDir, MetricsFile);
        return File.Exists(path) ? Records(Read(path), path).Select(r => r.Record).ToList() : [];
    }

    /// <summary>About 1.7 million evaluations' lines; a device (a link to /dev/zero) would otherwise be read until memory ran out.</summary>
    public const int MaxMetricsChars = 256 << 20;

    static string Read(string path) => EmptyFile.Is(path) ? "" : TextFile.Read(path, MaxMetricsChars, "a metrics log");

    /// <summary>
    /// Complete lines only: a line is whole once its newline is written, so the text after the last newline is not.
    /// A complete line that is not a record is damage, a <see cref="DataException"/> naming the file and the line.
    /// </summary>
    static IEnumerable<(string Line, EvalRecord Record)> Records(string text, string path)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length - 1; i++)
        {
            if (lines[i].Length == 0) continue;
            EvalRecord? record;
            try { record = JsonSerializer.Deserialize<EvalRecord>(lines[i], Json); }
            catch (JsonException e) { throw new DataException(path, $"{path}: line {i + 1} is not a metrics record ({e.Message.Split('\n')[0]})"); }
            yield return (lines[i], record ?? throw new DataException(path, $"{path}: line {i + 1} is not a metrics record (null)"));
        }
    }
}
