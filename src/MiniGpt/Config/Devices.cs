using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Config;

/// <summary>Where to run: auto takes CUDA when it is available, else the CPU.</summary>
public enum DeviceKind { Auto, Cpu, Cuda }

/// <summary>The torch device a <see cref="DeviceKind"/> names on this machine.</summary>
public static class Devices
{
    public static Device Resolve(DeviceKind kind) => kind switch
    {
        DeviceKind.Cpu => CPU,
        DeviceKind.Cuda when !cuda.is_available() => throw new ConfigException([new ConfigProblem("device", "cuda", "no CUDA device or CUDA libtorch is available")]),
        DeviceKind.Cuda => CUDA,
        _ => cuda.is_available() ? CUDA : CPU,
    };
}
