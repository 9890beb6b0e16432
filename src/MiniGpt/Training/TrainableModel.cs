using MiniGpt.Config;
using MiniGpt.IO;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>
/// A config's model ready to train: on its device and in its precision, its parameters in one flat buffer
/// with AdamW over it, and the step that ties them together. The trainer and the step benchmark share it.
/// </summary>
public sealed class TrainableModel : IDisposable
{
    public Device Device { get; }
    public Gpt Model { get; }
    public FlatParameters Flat { get; }
    public AdamW Optimizer { get; }
    public TrainingStep Step { get; }

    public TrainableModel(TrainConfig c, int vocabSize, Device device)
    {
        Device = device;
        CheckDevice(c, device);
        if (device.type == DeviceType.CUDA) torch.backends.cuda.matmul.allow_tf32 = true;   // fp32 matmuls ~2× faster
        var shape = c.ToGptConfig(vocabSize);
        // On the CPU the model also keeps its gradients and AdamW's two moments there.
        CheckHostMemory(shape.ParameterCount, device.type == DeviceType.CPU ? 16 + (c.Dtype == Precision.BFloat16 ? 2 : 0) : 4);
        Model = new Gpt(shape, c.Seed);
        Model.to(Device);
        Model.train();
        Flat = new FlatParameters(Model.UniqueParameters());   // after .to(): the buffer lives on the device
        if (c.Dtype == Precision.BFloat16)
        {
            Model.UseComputeDtype(ScalarType.BFloat16);
            ComputeCopy = new ComputeCopy(Flat, ScalarType.BFloat16);
            Model.UseComputeWeights(ComputeCopy.ViewOf);
        }
        Optimizer = new AdamW(Flat, c.Beta1, c.Beta2, 1e-8, c.WeightDecay);
        Step = new TrainingStep(Model, Flat, Optimizer, c.GradientAccumulationSteps, c.GradClip, Device, ComputeCopy);
    }

    /// <summary>
    /// The config's model at its initial weights, to sample from (timing sampling needs no trained weights): the
    /// checks of training, and host memory for the weights alone. Its float32 products stay float32, as a trained
    /// model's are when sampled (no TF32).
    /// </summary>
    public static Gpt ForSampling(TrainConfig c, int vocabSize, Device device)
    {
        if (vocabSize < 1) throw new ConfigException("vocab_size", vocabSize, "must be ≥ 1");
        CheckDevice(c, device);
        var shape = c.ToGptConfig(vocabSize);
        CheckHostMemory(shape.ParameterCount, 4 + (device.type == DeviceType.CPU && c.Dtype == Precision.BFloat16 ? 2 : 0));
        var model = new Gpt(shape, c.Seed);
        model.to(device);
        model.eval();
        if (c.Dtype == Precision.BFloat16) model.UseComputeDtype(ScalarType.BFloat16);
        return model;
    }

    static void CheckDevice(TrainConfig c, Device device)
    {
        // A GPU recipe on a box whose CUDA did not start would otherwise run on the CPU for days, in bf16 at that.
        if (c.Dtype == Precision.BFloat16 && c.Device == DeviceKind.Auto && device.type == DeviceType.CPU)
            throw new ConfigException([new ConfigProblem("dtype", "bfloat16", "device = auto found no CUDA device, and bfloat16 on the CPU is slow; set device = cpu to run it there anyway")]);
    }

    /// <summary>
    /// Refuses a model the host cannot hold before building it: a config within every key's range can still
    /// ask for terabytes, and allocating piece by piece until the kernel's OOM killer steps in leaves no message.
    /// The model is built on the host first.
    /// </summary>
    static void CheckHostMemory(long parameters, long perParameter)
    {
        double need = (double)parameters * perParameter;
        if (HostMemory.AvailableBytes() is { } available && need > available)
            throw new ConfigException([new ConfigProblem(null, null,
                $"the model has {parameters:N0} weights, which need at least {need / 1e9:F1} GB in host memory ({perParameter} bytes each); {available / 1e9:F1} GB is available")]);
    }

    /// <summary>Under bfloat16, the weights the matrix products read; refresh it after loading weights.</summary>
    public ComputeCopy? ComputeCopy { get; }

    public void Dispose()
    {
        ComputeCopy?.Dispose();
        Optimizer.Dispose();
        Flat.Dispose();
        Model.Dispose();
    }
}
