using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Generation;

/// <summary>How the next token is drawn. Temperature 0 is greedy (argmax); top-k and top-p can be combined.</summary>
public sealed record SamplingOptions(double Temperature = 1.0, int? TopK = null, double? TopP = null)
{
    /// <summary>Every bad value, each naming its key; empty when the options can be used.</summary>
    public IReadOnlyList<ConfigProblem> Problems()
    {
        var p = new List<ConfigProblem>();
        if (!(Temperature >= 0 && double.IsFinite(Temperature))) p.Add(new("temperature", ConfigProblem.Show(Temperature), "must be a finite number ≥ 0"));
        if (TopK is < 1) p.Add(new("top_k", ConfigProblem.Show(TopK), "must be ≥ 1"));
        if (TopP is { } tp && !(tp > 0 && tp <= 1)) p.Add(new("top_p", ConfigProblem.Show(tp), "must be in (0, 1]"));
        return p;
    }
}

public static class Sampling
{
    /// <summary>Draws one id from logits (V): <c>p = softmax(z / τ)</c> restricted to the top-k and the top-p nucleus.</summary>
    public static int Next(Tensor logits, SamplingOptions o, Generator generator)
    {
        using var _ = NewDisposeScope();
        return (int)Draw(logits.reshape(1, -1), o, [generator]).cpu().item<long>();
    }

    /// <summary>
    /// Draws one id per row of logits (B, V), row i with generators[i], and leaves them on the logits' device, (B).
    /// A draw is multinomial's own for one sample, <c>argmax(p / q)</c> with <c>q ~ Exp(1)</c>: the same id for
    /// the same generator state, whatever B. The noise comes from CPU generators, so a seed gives the same
    /// draws on every device, and nothing is read back to the host here.
    /// </summary>
    public static Tensor Draw(Tensor logits, SamplingOptions o, IReadOnlyList<Generator> generators)
    {
        long B = logits.size(0), V = logits.size(1);
        if (generators.Count != B) throw new ArgumentException($"{generators.Count} generators for {B} rows of logits");
        var z = logits.dtype == float32 ? logits : logits.to(float32);           // (B, V)
        // A τ that float32 cannot divide by (0 once rounded, or 1/τ infinite) leaves only the largest logit: greedy.
        float t = (float)o.Temperature;
        if (t == 0 || float.IsInfinity(1 / t)) return z.argmax(-1);               // (B)
        // Shifted by the row's max first, z / τ never overflows: the max becomes 0, the rest ≤ 0, down to −∞.
        z = (z - z.amax([-1], keepdim: true)) / t;                               // (B, V)
        var probs = Filter(z, o.TopK, o.TopP).softmax(-1);                       // (B, V), 0 outside the kept set
        var q = empty(B, V, float32);                                            // (B, V) on the CPU
        if (B == 1) q.exponential_(1, generators[0]);
        else for (int b = 0; b < B; b++) q[b].exponential_(1, generators[b]);
        if (probs.device_type != DeviceType.CPU) q = q.to(probs.device);
        return (probs / q).argmax(-1);                                           // (B)
    }

    /// <summary>Logits (B, V) or (V) with everything outside each row's k best and outside its smallest set of mass ≥ p set to −∞.</summary>
    public static Tensor Filter(Tensor z, int? topK, double? topP)
    {
        if (topK is { } k && k < z.size(-1))
        {
            var kth = z.topk(k, dim: -1).values.narrow(-1, k - 1, 1);            // (B, 1)
            z = z.masked_fill(z < kth, double.NegativeInfinity);
        }
        if (topP is { } p && p < 1)
        {
            var (sorted, order) = z.sort(-1, descending: true);                 // (B, V), (B, V)
            var mass = sorted.softmax(-1);                                       // (B, V)
            // Drop a token when the mass before it already reaches p; the best token always stays.
            var drop = (mass.cumsum(-1) - mass) >= p;                            // (B, V)
            var dropOriginal = zeros_like(drop).scatter(-1, order, drop);       // (B, V)
            z = z.masked_fill(dropOriginal, double.NegativeInfinity);
        }
        return z;
    }
}
