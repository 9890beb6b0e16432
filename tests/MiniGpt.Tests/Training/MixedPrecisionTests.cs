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
        using var t = new Trainer(TinyRun.Config(dir) with { Dtype = "bfloat16", MaxIters = 40 });
        var r = t.Run();
        Assert.True(r.StepLosses.TakeLast(5).Average() < r.StepLosses.Take(5).Average() - 0.3,
            $"bf16 loss should fall: {r.StepLosses.Take(5).Average():F3} → {r.StepLosses.TakeLast(5).Average():F3}");
    }

    [Fact]
    public void MasterWeightsAndOptimizerState_StayFloat32()
    {
        var model = new Gpt(SmallGpt.Config, seed: 1);
        model.UseComputeDtype(ScalarType.BFloat16);
        using var flat = new FlatParameters(model.UniqueParameters());
        using var opt = new AdamW(flat);
        var (x, y) = SmallGpt.Batch(2);
        var logits = model.call(x);
        Assert.Equal(ScalarType.BFloat16, logits.dtype);              // the products ran in bf16
        var loss = model.Loss(logits, y);
        Assert.Equal(ScalarType.Float32, loss.dtype);                 // the loss did not
        loss.backward();
        opt.StepWith(1e-3);
        Assert.All(model.UniqueParameters(), p => Assert.Equal(ScalarType.Float32, p.Param.dtype));
        Assert.All(model.UniqueParameters(), p => Assert.Equal(ScalarType.Float32, p.Param.grad!.dtype));
        Assert.Equal(ScalarType.Float32, opt.State.M.dtype);
        Assert.Equal(ScalarType.Float32, flat.Data.dtype);
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
