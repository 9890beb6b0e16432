using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Token embedding: <c>x_t = E[idx_t]</c>, a row lookup in <c>E</c> of shape (V, C), E ~ N(0, 0.02).
/// The same matrix is the output projection (the tied lm_head): <c>logits = h Eᵀ</c>.
/// </summary>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // (V, C)

    public TokenEmbedding(long vocabSize, long nEmbd, Generator? generator = null) : base(nameof(TokenEmbedding))
    {
        weight = nn.Parameter(empty(vocabSize, nEmbd));
        using (no_grad()) weight.normal_(0.0, 0.02, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor idx)      // idx: (B, T) int64
        => weight.index_select(0, idx.flatten())    // (B*T, C)
                 .view(idx.size(0), idx.size(1), weight.size(1));  // (B, T, C)

    /// <summary>Optional: E already in the compute dtype, as <see cref="Linear.ComputeWeight"/>.</summary>
    public Tensor? ComputeWeight { get; set; }

    /// <summary>As <see cref="Linear.SliceRows"/>, for the output head.</summary>
    public bool SliceRows { get; set; }

    /// <summary>The tied output head: <c>logits = h Eᵀ</c>.</summary>
    public Tensor Unembed(Tensor h, ScalarType? computeDtype = null)
        => computeDtype is { } cd ? matmul(h.to(cd), (ComputeWeight ?? weight.to(cd)).t())   // (B, T, V) in cd
                                  : Linear.Product(h, weight, null, SliceRows);              // (B, T, V)
}
