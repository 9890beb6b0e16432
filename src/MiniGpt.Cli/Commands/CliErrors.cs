namespace MiniGpt.Cli.Commands;

/// <summary>Turns the library's errors about bad input into one "error:" line and exit code 1.</summary>
public static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try { return action(); }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    public static bool IsUserError(Exception e)
        => e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException or FormatException;
}
