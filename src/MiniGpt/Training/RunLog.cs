using System.Text.Json;
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
    readonly TorchSharp.Modules.SummaryWriter writer;
    readonly string metricsPath;
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public RunLog(string outDir)
    {
        Directory.CreateDirectory(outDir);
        writer = torch.utils.tensorboard.SummaryWriter(outDir);
        metricsPath = Path.Combine(outDir, "metrics.jsonl");
    }

    public void Scalar(string tag, double value, int step) => writer.add_scalar(tag, (float)value, step);

    public void Text(string tag, string text, int step) => writer.add_text(tag, text, step);

    public void Eval(EvalRecord r)
    {
        Scalar("train/loss_eval", r.TrainLoss, r.Step);
        Scalar("val/loss", r.ValLoss, r.Step);
        File.AppendAllText(metricsPath, JsonSerializer.Serialize(r, Json) + "\n");
    }

    public static IReadOnlyList<EvalRecord> ReadMetrics(string outDir)
    {
        var path = Path.Combine(outDir, "metrics.jsonl");
        if (!File.Exists(path)) return [];
        return File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<EvalRecord>(l, Json)!).ToList();
    }
}
