using MiniGpt.Config;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Training;

public class MixedPrecisionTests
{
    [Fact]
    public void Bfloat16_Trains_LossFalls()
    {
        using var dir = new TempDir();
        using var t = new Trainer(TinyRun.Config(dir) with { Dtype = Precision.BFloat16, MaxIters = 40 });
        var r = t.Run();
        Assert.True(r.StepLosses.TakeLast(5).Average() < r.StepLosses.Take(5).Average() - 0.3,
            $"bf16 loss should fall: {r.StepLosses.Take(5).Average():F3} → {r.StepLosses.TakeLast(5).Average():F3}");
    }

    [Fact]
    public void MasterWeights_KeepUpdatesTooSmallForBfloat16()
    {
        // AdamW's first step moves each weight by lr · g / |g| = ±lr. At lr = 1e-6 that is far below bf16's
        // spacing near the weights (2⁻¹³ ≈ 1.2e-4 at the init's 0.02 scale, 2⁻⁷ at LayerNorm's 1): a bf16
        // master copy would round almost every update away; the fp32 one keeps each to within fp32 rounding.
        const double lr = 1e-6;
        var model = new Gpt(SmallGpt.Config, seed: 1);
        model.UseComputeDtype(ScalarType.BFloat16);
        using var flat = new FlatParameters(model.UniqueParameters());
        using var opt = new AdamW(flat);
        var before = flat.Data.clone();
        var (x, y) = SmallGpt.Batch(2);
        var loss = model.Loss(model.call(x), y);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        loss.backward();
        var g = flat.Grad.clone();
        opt.StepWith(lr);
        var moved = (flat.Data - before).abs();
        var clearGradient = g.abs() > 1e-5;                                   // where ε = 1e-8 cannot matter
        Assert.True(clearGradient.to(float32).mean().item<float>() > 0.5f, "too few weights with a gradient to test");
        var steps = moved.masked_select(clearGradient);
        Assert.InRange(steps.min().item<float>(), 0.8e-6f, 1.2e-6f);          // every one of them moved by ≈ lr
        Assert.InRange(steps.max().item<float>(), 0.8e-6f, 1.2e-6f);
        var roundedAway = before.to(ScalarType.BFloat16).eq(flat.Data.to(ScalarType.BFloat16)).masked_select(clearGradient);
        Assert.True(roundedAway.to(float32).mean().item<float>() > 0.9f, $"in bf16 {1 - roundedAway.to(float32).mean().item<float>():P1} of these updates would have survived; the test shows little");
        Compare.Close(g.to(float64) * 0.1, opt.State.M.to(float64), 1e-8);     // m₁ = (1 − β₁) g, kept in fp32
    }

    [Fact]
    public void OneBfloat16Step_DiffersFromFloat32_OnlyWithinBfloat16Tolerance()
    {
        var f32 = new Gpt(SmallGpt.Config, seed: 3);
        var bf16 = new Gpt(SmallGpt.Config, seed: 3);
        bf16.UseComputeDtype(ScalarType.BFloat16);
        using var flat32 = new FlatParameters(f32.UniqueParameters());
        using var flat16 = new FlatParameters(bf16.UniqueParameters());
        var (x, y) = SmallGpt.Batch(4);
        var l32 = f32.Loss(f32.call(x), y);
        var l16 = bf16.Loss(bf16.call(x), y);
        l32.backward();
        l16.backward();
        // bf16 keeps 8 significant bits (relative precision 2⁻⁸ ≈ 0.4 %); allow a few roundings' worth.
        Assert.InRange(Math.Abs(l16.item<float>() - l32.item<float>()) / l32.item<float>(), 0, 0.02);
        var cosine = (flat16.Grad * flat32.Grad).sum() / (flat16.Grad.norm() * flat32.Grad.norm());
        Assert.True(cosine.item<float>() > 0.99, $"gradient directions differ: cosine {cosine.item<float>()}");
        var relNorm = (flat16.Grad - flat32.Grad).norm() / flat32.Grad.norm();
        Assert.True(relNorm.item<float>() < 0.05, $"relative gradient difference {relNorm.item<float>()}");
        Assert.True(relNorm.item<float>() > 0, "bf16 and fp32 gave identical gradients: bf16 was not used");
    }
}
