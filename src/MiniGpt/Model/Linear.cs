using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// Linear transformation (FORMULAS §1): <c>y = W x + b</c>, with <c>W</c> of shape (d_out, d_in).
/// Applied to row vectors this is <c>y = x Wᵀ + b</c>. GPT-2 initialisation: W ~ N(0, std), b = 0.
/// With a <see cref="ComputeDtype"/> (bfloat16 mixed precision) x, W and b are cast for the product while the
/// parameters stay float32, so gradients flow back to float32 master weights through the casts.
/// With <see cref="SliceRows"/> (set for decoding a model too big for the cache), a few rows without autograd on
/// the CPU read a large W in k slices by one batched product instead: the same formula, equal up to rounding
/// (tested), and 2–4× faster from memory (see <see cref="SlicedRows"/>).
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    public readonly Parameter weight;   // (d_out, d_in)
    public readonly Parameter? bias;    // (d_out)

    public Linear(long inFeatures, long outFeatures, bool hasBias, double std = 0.02, Generator? generator = null)
        : base(nameof(Linear))
    {
        weight = nn.Parameter(empty(outFeatures, inFeatures));
        // nn.init.normal_ ignores its generator; Tensor.normal_ honours it, so a seed fixes the weights.
        using (no_grad()) weight.normal_(0.0, std, generator);
        if (hasBias) bias = nn.Parameter(zeros(outFeatures));
        RegisterComponents();
    }

    public ScalarType? ComputeDtype { get; set; }

    /// <summary>
    /// Optional: W already in <see cref="ComputeDtype"/>, kept equal to cast(W) by its owner, so a forward
    /// need not cast W again. Its gradient goes to the owner, which adds it into W's.
    /// </summary>
    public Tensor? ComputeWeight { get; set; }

    /// <summary>Whether a few rows go through <see cref="SlicedRows"/> when they can (see <see cref="Product"/>).</summary>
    public bool SliceRows { get; set; }

    /// <summary>
    /// W's elements from which rows go through <see cref="SlicedRows"/>: 2¹⁷, 512 KB in float32. A smaller W
    /// costs more in the slicing's nine-odd extra operations than it gains (docs/benchmarks.md).
    /// </summary>
    public const long SlicedRowMinElements = 1 << 17;

    /// <summary>
    /// The most rows (samples decoded together) that go through <see cref="SlicedRows"/>: on one thread 2 rows
    /// were 2.4× faster sliced, 8 rows 9 % slower (docs/benchmarks.md).
    /// </summary>
    public const long SlicedRowsMax = 4;

    public override Tensor forward(Tensor x)   // x: (..., d_in)
    {
        if (ComputeDtype is { } cd && (x.dtype != cd || weight.dtype != cd))
        {
            var yc = matmul(x.to(cd), (ComputeWeight ?? weight.to(cd)).t());   // (..., d_out) in cd
            return bias is null ? yc : yc + bias.to(cd);           // (..., d_out)
        }
        // One call rather than three (transpose, product, sum). Without a bias it is the very same product; with one,
        // ATen may fold the bias into the product (addmm), equal up to rounding.
        return Product(x, weight, bias, SliceRows);   // (..., d_out)
    }

    /// <summary>
    /// <c>x Wᵀ + b</c> by <c>F.linear</c>, or, when <paramref name="sliceRows"/> is set, for at most
    /// <see cref="SlicedRowsMax"/> rows of float32 on the CPU without autograd and a W of at least
    /// <see cref="SlicedRowMinElements"/>, by <see cref="SlicedRows"/>.
    /// </summary>
    public static Tensor Product(Tensor x, Tensor weight, Tensor? bias, bool sliceRows)   // x: (..., d_in) → (..., d_out)
        => sliceRows && weight.numel() >= SlicedRowMinElements && x.device_type == DeviceType.CPU && x.dtype == float32
           && weight.dtype == float32 && !is_grad_enabled() && x.numel() <= SlicedRowsMax * weight.size(1)
            ? SlicedRows(x, weight, bias)
            : nn.functional.linear(x, weight, bias);

    /// <summary>
    /// <c>x Wᵀ + b</c> for a few rows x (M), W read as k row-slices in one <c>bmm</c> with x broadcast to each (rows of
    /// W that do not fill a slice go through <c>F.linear</c>). For one row ATen calls MKL's sgemv, which streams W from
    /// memory at about 13 GB/s on this project's CPU; MKL's batched gemm reads it at 28 GB/s on one thread and shares
    /// the slices between threads. That matters once a model's weights outgrow the cache: 6/6/384's 24 products per
    /// token took 3.4 ms by sgemv and 0.9 ms this way on two threads, while 4/4/256's, read from cache on one thread,
    /// took 0.40 ms by sgemv and 0.48 ms this way (docs/benchmarks.md). Without autograd only.
    /// </summary>
    public static Tensor SlicedRows(Tensor x, Tensor weight, Tensor? bias)   // x: (..., d_in), M rows in all
    {
        long dIn = weight.size(1), dOut = weight.size(0), M = x.numel() / dIn;
        long k = Math.Max(2, get_num_threads()), rows = dOut / k, sliced = rows * k;
        var shape = new long[x.dim()];   // x's, with d_out last (read by size(dim): .shape allocates a pinned array)
        for (int i = 0; i < shape.Length - 1; i++) shape[i] = x.size(i);
        shape[^1] = dOut;
        var xt = x.reshape(M, dIn).t().unsqueeze(0).expand(k, dIn, M);                   // (k, d_in, M): the slices share one x
        var y = bmm(weight.narrow(0, 0, sliced).view(k, rows, dIn), xt).view(sliced, M).t();   // (M, k·rows)
        if (sliced < dOut)
            y = cat([y, nn.functional.linear(x.reshape(M, dIn), weight.narrow(0, sliced, dOut - sliced))], 1);   // (M, d_out)
        y = y.reshape(shape);                                                            // (..., d_out)
        return bias is null ? y : y + bias;                                              // (..., d_out)
    }
}
