using MiniGpt.Checkpoints;
using MiniGpt.Logs;
using MiniGpt.Training;

namespace MiniGpt.Cli.Inspect;

/// <summary>One row of `minigpt runs`: what a run folder's checkpoint and logs say, or why they could not be read.</summary>
public sealed record RunSummary(string Name, int? LastStep, double? BestVal, int? BestStep, long? TokensSeen, double? WallSeconds,
    string? Tokenizer, long? Parameters, string? Error)
{
    public static bool IsRun(string dir) => RunDirectory.IsRun(dir);

    /// <summary>DIR itself if it is a run, else each sub-folder that is one.</summary>
    public static IReadOnlyList<string> Find(string dir)
    {
        if (!Directory.Exists(dir)) throw new DataException(dir, File.Exists(dir) ? $"{dir} is a file, not a folder of runs" : $"folder {dir} not found");
        if (IsRun(dir)) return [dir];
        return Directory.GetDirectories(dir).Where(IsRun).Order(StringComparer.Ordinal).ToList();
    }

    public static RunSummary Read(string dir)
    {
        string name = LossPlot.RunName(dir);
        var errors = new List<string>();
        IReadOnlyList<EvalRecord> evals = [];
        try { evals = RunLog.ReadMetrics(dir); }
        catch (DataException e) { errors.Add(e.Message); }   // a damaged line, named by the file and its number
        catch (IOException e) { errors.Add($"metrics.jsonl: {e.Message}"); }
        var best = evals.Where(e => e.Step > 0).MinBy(e => e.ValLoss);
        CheckpointSummary? ckpt = null;
        var last = Path.Combine(dir, Checkpoint.LastFile);
        if (File.Exists(last))
        {
            // Its metadata alone: a listing should not read (or checksum) gigabytes of weights per run.
            try { ckpt = Checkpoint.ReadSummary(last); }
            catch (Exception e) when (e is MiniGptException or IOException) { errors.Add(e.Message); }
        }
        return new RunSummary(name,
            ckpt?.Step ?? evals.LastOrDefault()?.Step,
            best?.ValLoss ?? (ckpt is { BestValLoss: var b } && double.IsFinite(b) ? b : null),
            best?.Step,
            ckpt?.TokensSeen,
            ckpt?.ElapsedSeconds ?? evals.LastOrDefault()?.ElapsedS,
            ckpt is null ? null : Choices.Name(ckpt.Tokenizer.Kind) + (ckpt.Tokenizer.CompactIds is null ? "" : " (compact)") + $" / {ckpt.VocabSize}",
            ckpt?.Parameters,
            errors.Count == 0 ? null : string.Join("; ", errors));
    }
}
