System.Console.WriteLine("minigpt");
