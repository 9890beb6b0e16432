using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>
/// AdamW (FORMULAS §13) over a <see cref="FlatParameters"/> buffer:
/// <c>m_t = β₁ m_{t−1} + (1 − β₁) g_t</c>, <c>v_t = β₂ v_{t−1} + (1 − β₂) g_t²</c>,
/// <c>m̂_t = m_t / (1 − β₁ᵗ)</c>, <c>v̂_t = v_t / (1 − β₂ᵗ)</c>,
/// <c>θ_t = θ_{t−1} − η (m̂_t / (√v̂_t + ε) + λ θ_{t−1})</c>.
/// Weight decay λ applies only to matrices (2-D and up); biases, LayerNorm gains and other vectors get λ = 0.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly FlatParameters flat;
    readonly Tensor m, v;          // (N) first and second moments
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public long Step { get; private set; }

    public AdamW(FlatParameters flat, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.0)
    {
        this.flat = flat;
        (Beta1, Beta2, Eps, WeightDecay) = (beta1, beta2, eps, weightDecay);
        m = zeros_like(flat.Data);
        v = zeros_like(flat.Data);
    }

    /// <summary>One update with learning rate η from the gradients now in the flat buffer.</summary>
    /// <param name="apply">
    /// A 0-d bool on the device: when false θ, m and v keep their values (and the gradient is zeroed), decided
    /// on the device so the host need not wait for the gradient norm. The step count advances either way.
    /// </param>
    public void StepWith(double lr, Tensor? apply = null)
    {
        Step++;
        using var _ = NewDisposeScope();
        using var __ = no_grad();
        var g = flat.Grad;
        var theta = flat.Data;
        double bc1 = 1 - Math.Pow(Beta1, Step), bc2 = 1 - Math.Pow(Beta2, Step);
        if (apply is null)
        {
            m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            if (WeightDecay != 0) theta.narrow(0, 0, flat.MatrixCount).mul_(1 - lr * WeightDecay);   // matrices lead the buffer
            theta.addcdiv_(m, (v.sqrt() / Math.Sqrt(bc2)).add_(Eps), value: -lr / bc1);
            return;
        }
        // Refused or not, the same in-place kernels run, so the host never waits: a refused step zeroes g
        // (scaling would keep NaN) and turns every factor into 1 or 0, which leaves θ, m and v bit-identical.
        using var refuse = apply.logical_not();                                   // ()
        g.masked_fill_(refuse, 0);                                                // (N)
        using var on = apply.to(g.dtype);                                         // () 1 or 0
        Tensor Factor(double whenApplied) => on * (whenApplied - 1) + 1;          // () whenApplied or 1
        m.mul_(Factor(Beta1)).add_(g, alpha: 1 - Beta1);
        v.mul_(Factor(Beta2)).addcmul_(g, g, value: 1 - Beta2);
        if (WeightDecay != 0) theta.narrow(0, 0, flat.MatrixCount).mul_(Factor(1 - lr * WeightDecay));
        var stepSize = (v.sqrt() / Math.Sqrt(bc2)).add_(Eps).reciprocal_().mul_(on * (-lr / bc1));   // (N)
        theta.addcmul_(m, stepSize, value: 1);
    }

    /// <summary>The moments and step count, for checkpoints.</summary>
    public (Tensor M, Tensor V, long Step) State => (m, v, Step);

    public void LoadState(Tensor mSaved, Tensor vSaved, long step)
    {
        if (mSaved.shape[0] != m.shape[0] || vSaved.shape[0] != v.shape[0])
            throw new ArgumentException($"optimizer state holds {mSaved.shape[0]} values; the model has {m.shape[0]} parameters");
        using (no_grad()) { m.copy_(mSaved); v.copy_(vSaved); }
        Step = step;
    }

    public void Dispose() { m.Dispose(); v.Dispose(); }
}
