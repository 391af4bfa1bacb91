// Oracle for EWS "Poll Interval": reads hex-encoded UTF-8 values, one per line, and answers how
// K2's EWS connection-string builder turns each into a TimeSpan, following its public source
// (k2field/SC.ConnectionStringEditor, ExchangeWebServicesConnectionStringBuilder.PollIntervalTime):
// a trailing non-digit is the unit (S, M, H, D; anything else is out of range), the rest goes
// through double.Parse, then TimeSpan.FromSeconds/Minutes/Hours/Days. Runs under en-US, the
// culture of a default K2 server.
//   OK <total milliseconds>
//   ERR <exception type>
using System;
using System.Globalization;
using System.Text;
using System.Threading;

static class PollInterval
{
    static string Unhex(string h)
    {
        if (h == "-") return "";
        var bytes = new byte[h.Length / 2];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(h.Substring(2 * i, 2), 16);
        return Encoding.UTF8.GetString(bytes);
    }

    static TimeSpan Read(string text)
    {
        char unit = 'S';
        string number = text;
        char last = text[text.Length - 1];
        if (!char.IsDigit(last))
        {
            unit = last;
            number = text.Substring(0, text.Length - 1);
        }
        double d = double.Parse(number);
        if (unit == 'S') return TimeSpan.FromSeconds(d);
        if (unit == 'M') return TimeSpan.FromMinutes(d);
        if (unit == 'H') return TimeSpan.FromHours(d);
        if (unit == 'D') return TimeSpan.FromDays(d);
        throw new ArgumentOutOfRangeException("Poll Interval");
    }

    static void Main()
    {
        Thread.CurrentThread.CurrentCulture = new CultureInfo("en-US");
        string line;
        while ((line = Console.ReadLine()) != null)
        {
            try
            {
                var span = Read(Unhex(line.Trim()));
                Console.WriteLine("OK " + ((long)span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception e)
            {
                Console.WriteLine("ERR " + e.GetType().Name);
            }
        }
    }
}
