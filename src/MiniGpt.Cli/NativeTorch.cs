using TorchSharp;

namespace MiniGpt.Cli;

/// <summary>libtorch did not load; <see cref="Trace"/> is what TorchSharp printed while it tried.</summary>
public sealed class NativeLoadException(Exception cause, string trace) : Exception(cause.Message, cause)
{
    public string Trace { get; } = trace;
}

/// <summary>
/// Loads libtorch before a command's work, so that a failure is one line: TorchSharp prints a page of load
/// trace to stdout as it fails, which would bury the error and corrupt output that scripts parse.
/// </summary>
public static class NativeTorch
{
    public static void Load()
    {
        var stdout = Console.Out;
        var trace = new StringWriter();
        Console.SetOut(trace);
        try { _ = torch.cuda.is_available(); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException) { throw new NativeLoadException(e, trace.ToString()); }
        finally { Console.SetOut(stdout); }
    }
}
