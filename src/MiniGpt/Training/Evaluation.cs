using MiniGpt.Checkpoints;
using MiniGpt.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>The model's loss was NaN or infinite: its weights hold NaN or infinities, or its arithmetic overflowed.</summary>
public sealed class NonFiniteLossException(string source, double loss)
    : MiniGptException($"the model's loss on {source} is {loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}: its weights hold NaN or infinities, or its arithmetic overflowed");

/// <summary>Mean cross-entropy in nats per token, perplexity e^loss, and bits per character or per byte.</summary>
public sealed record EvalReport(string Source, long Tokens, double Loss, double Perplexity, double BitsPerUnit, string Unit);

/// <summary>Measures a trained model on a split of its token cache or on any text file.</summary>
public static class Evaluation
{
    /// <summary>
    /// The mean loss over <paramref name="batches"/> batches of a split, drawn exactly as the trainer's
    /// evaluation at the checkpoint's step draws them, so the two agree.
    /// </summary>
    /// <param name="progress">Told the number of batches done after each.</param>
    public static EvalReport OnSplit(TrainedModel m, Split split, int batches, string? dataDir = null, IProgress<int>? progress = null)
    {
        if (batches < 1) throw new ConfigException("batches", batches, "must be ≥ 1");
        var config = m.Config with { DataDir = dataDir ?? m.Config.DataDir, Corpus = null };
        TrainingData data;
        try { data = TrainingData.Open(config); }
        catch (ConfigException e) when (e.Problems is [{ Key: "block_size" } p])   // the model's block is fixed: the cache is what does not fit
        { throw new DataException(config.DataDir, $"token cache {config.DataDir} does not fit this model: {p.Rule}"); }
        using var _ = data;
        var meta = data.Cache.Meta;
        if (meta.VocabSize != m.Model.Config.VocabSize || !meta.Tokenizer.SameTokenizer(m.Tokenizer.Describe()))
            throw new DataException(config.DataDir, $"token cache {config.DataDir} was made with another tokenizer ({Choices.Name(meta.Tokenizer.Kind)}, {meta.VocabSize} ids) " +
                $"than the checkpoint's ({Choices.Name(m.Tokenizer.Kind)}, {m.Model.Config.VocabSize} ids)");
        double loss = Fused(m.Model, () => LossEstimator.Estimate(m.Model, data.EvalBatches(split, m.Step), batches, m.Device, progress: progress));
        // Bits per unit: loss per token × tokens per unit, in base 2.
        var (tokens, chars, bytes) = split == Split.Train ? (meta.TrainTokens, meta.TrainChars, meta.TrainBytes) : (meta.ValTokens, meta.ValChars, meta.ValBytes);
        return Report($"{Choices.Name(split)} split of {config.DataDir}", (long)batches * config.BatchSize * config.BlockSize, loss, tokens, chars, bytes, m.Tokenizer);
    }

    /// <summary>The longest text evaluated: 256 M characters, whose ids are held at once.</summary>
    public const int MaxTextChars = 1 << 28;

    /// <summary>The mean loss over every predicted token of a text, in consecutive windows of block_size + 1 tokens.</summary>
    public static EvalReport OnText(TrainedModel m, string path)
    {
        if (!File.Exists(path)) throw new DataException(path, $"text file {path} not found");
        var text = IO.TextFile.Read(path, MaxTextChars, "a text to evaluate");
        var ids = m.Tokenizer.Encode(text);
        if (ids.Count < 2) throw new DataException(path, $"{path} is too short to evaluate: {ids.Count} token(s); at least 2 are needed");
        int T = m.Config.BlockSize;
        double sum = 0;
        long predicted = 0;
        using (no_grad())
            Fused(m.Model, () =>
            {
                for (int start = 0; start + 1 < ids.Count; start += T)
                {
                    using var scope = NewDisposeScope();
                    int len = Math.Min(T, ids.Count - 1 - start);
                    var x = tensor(ids.Skip(start).Take(len).Select(i => (long)i).ToArray(), [1, len], device: m.Device);
                    var y = tensor(ids.Skip(start + 1).Take(len).Select(i => (long)i).ToArray(), [1, len], device: m.Device);
                    sum += m.Model.Loss(m.Model.call(x), y).item<float>() * len;
                    predicted += len;
                }
            });
        double loss = sum / predicted;
        long chars = text.EnumerateRunes().Count(), bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        return Report(path, predicted, loss, ids.Count, chars, bytes, m.Tokenizer);
    }

    /// <summary>
    /// Runs <paramref name="body"/> with the fused kernels, as sampling does, whatever the checkpoint's config chose:
    /// the explicit attention of a checkpoint saying fused: false holds a (T, T) matrix per head, which for a block of
    /// 2^20 took gigabytes for a text of 8 KB. The two are tested equal.
    /// </summary>
    static T Fused<T>(Model.Gpt model, Func<T> body)
    {
        bool was = model.FusedKernels;
        model.UseFusedKernels(true);
        try { return body(); }
        finally { model.UseFusedKernels(was); }
    }

    static void Fused(Model.Gpt model, Action body) => Fused(model, () => { body(); return 0; });

    static EvalReport Report(string source, long predicted, double loss, long tokens, long chars, long bytes, ITokenizer tokenizer)
    {
        if (!double.IsFinite(loss)) throw new NonFiniteLossException(source, loss);   // a NaN score that exits 0 reads as a result
        bool perChar = tokenizer.Kind == TokenizerKind.Char;
        double unitsPerToken = perChar ? (double)chars / tokens : (double)bytes / tokens;
        return new EvalReport(source, predicted, loss, Math.Exp(loss), loss / Math.Log(2) / unitsPerToken, perChar ? "character" : "byte");
    }
}
