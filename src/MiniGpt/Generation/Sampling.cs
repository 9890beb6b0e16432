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
        var z = logits.to(float32).reshape(-1);                                  // (V)
        if (o.Temperature == 0) return (int)z.argmax().item<long>();
        var scaled = z / o.Temperature;                                          // (V)
        // A temperature so small that z / τ overflows float32 leaves only the largest logit: that is greedy.
        if (!scaled.isfinite().all().item<bool>()) return (int)z.argmax().item<long>();
        z = scaled;
        var filtered = Filter(z, o.TopK, o.TopP);                                // (V), −∞ outside the kept set
        var probs = filtered.softmax(-1);                                        // (V)
        return (int)multinomial(probs.cpu(), 1, generator: generator).item<long>();
    }

    /// <summary>Logits with everything outside the k best and outside the smallest set of mass ≥ p set to −∞.</summary>
    public static Tensor Filter(Tensor z, int? topK, double? topP)
    {
        if (topK is { } k && k < z.shape[0])
        {
            var kth = z.topk(k).values[-1];                                     // ()
            z = z.masked_fill(z < kth, double.NegativeInfinity);
        }
        if (topP is { } p && p < 1)
        {
            var (sorted, order) = z.sort(descending: true);                     // (V), (V)
            var cumulative = sorted.softmax(-1).cumsum(0);                       // (V)
            // Drop a token when the mass before it already reaches p; the best token always stays.
            var drop = (cumulative - sorted.softmax(-1)) >= p;                   // (V)
            var dropOriginal = zeros_like(drop).scatter(0, order, drop);        // (V)
            z = z.masked_fill(dropOriginal, double.NegativeInfinity);
        }
        return z;
    }
}
