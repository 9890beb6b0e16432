using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Generation;

/// <summary>
/// Autoregressive sampling from a <see cref="Gpt"/>. With the KV cache each new token costs one position's
/// forward pass. Past block_size the context slides in jumps: when it would exceed block_size it restarts
/// from its last block_size / 2 tokens. Sliding a cache by one token cannot be exact (every deeper layer's
/// keys depend on the tokens that slid out), so the cache is rebuilt at each jump, once per block_size / 2
/// tokens rather than for every token. Both paths use the same window, so their logits agree at every step.
/// </summary>
public sealed class TextGenerator(Gpt model, bool useKvCache = true)
{
    /// <summary>The id a sample starts from when there is no prompt: a newline, or 0 when the vocabulary has none.</summary>
    public static int StartToken(Data.ITokenizer tokenizer)
    {
        try { return tokenizer.Encode("\n") is { Count: > 0 } ids ? ids[0] : 0; }
        catch (Data.UnknownCharactersException) { return 0; }   // a char vocabulary without '\n'
    }

    /// <summary>Yields new token ids one at a time.</summary>
    public IEnumerable<int> Generate(IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options, Generator generator)
    {
        foreach (var (id, _) in GenerateWithLogits(prompt, maxNewTokens, options, generator)) yield return id;
    }

    /// <summary>As <see cref="Generate"/>, with the logits (V, float32, CPU) each token was drawn from.</summary>
    public IEnumerable<(int Id, Tensor Logits)> GenerateWithLogits(IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions options, Generator generator)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token");
        if (options.Problems() is { Count: > 0 } bad) throw new ConfigException(bad);
        int blockSize = model.Config.BlockSize;
        var context = prompt.ToList();
        int windowStart = Math.Max(0, context.Count - blockSize);   // a long prompt keeps its last block
        var device = model.parameters().First().device;
        bool wasTraining = model.training;
        model.eval();
        using var cache = useKvCache ? new KvCache(model.Config, 1, model.ComputeDtype ?? float32, device) : null;   // keys and values come out of c_attn in the compute dtype
        try
        {
            for (int n = 0; n < maxNewTokens; n++)
            {
                Tensor logits;
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    bool jump = context.Count - windowStart > blockSize;
                    if (jump) windowStart = context.Count - Math.Max(1, blockSize / 2);
                    int[] feed;
                    if (cache is null || jump || cache.Length == 0)
                    {
                        cache?.Reset();
                        feed = context.Skip(windowStart).ToArray();                             // the whole window
                    }
                    else feed = [context[^1]];                                                  // only the new token
                    var idx = tensor(feed.Select(i => (long)i).ToArray(), [1, feed.Length], device: device);   // (1, t)
                    var all = model.Forward(idx, cache);                                       // (1, t, V)
                    logits = all[0, -1].to(float32).cpu().MoveToOuterDisposeScope();            // (V)
                }
                int next = Sampling.Next(logits, options, generator);
                context.Add(next);
                yield return (next, logits);
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }
}
