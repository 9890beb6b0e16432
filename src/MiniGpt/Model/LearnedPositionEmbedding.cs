using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Learned absolute position embedding (GPT-2): <c>p_t = P[t]</c>, with <c>P</c> of shape (block_size, C), P ~ N(0, 0.02).
/// </summary>
public sealed class LearnedPositionEmbedding : nn.Module<long, long, Tensor>
{
    public readonly Parameter weight;   // (block_size, C)

    public LearnedPositionEmbedding(long blockSize, long nEmbd, Generator? generator = null) : base(nameof(LearnedPositionEmbedding))
    {
        weight = nn.Parameter(empty(blockSize, nEmbd));
        using (no_grad()) weight.normal_(0.0, 0.02, generator);
        RegisterComponents();
    }

    /// <summary>Rows for positions start … start+T−1.</summary>
    public override Tensor forward(long start, long T)
    {
        if (start + T > weight.size(0))
            throw new ArgumentOutOfRangeException(nameof(T), $"positions up to {start + T - 1} exceed block_size {weight.shape[0]}");
        return weight.narrow(0, start, T);   // (T, C)
    }
}
