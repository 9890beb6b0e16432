using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

/// <summary>Batch copies from host memory to the training device.</summary>
public static class HostToDevice
{
    /// <summary>
    /// A synchronous copy to a GPU waits for every queued kernel first. From page-locked memory the copy can
    /// instead join the queue, as nanoGPT's <c>pin_memory().to(non_blocking=True)</c> does. Elsewhere a plain copy.
    /// </summary>
    public static Tensor Copy(Tensor t, Device device) => device.type == DeviceType.CUDA && t.device_type == DeviceType.CPU
        ? t.pin_memory().to(device, non_blocking: true)
        : t.to(device);
}
