// Ids an attacker can choose (in spans, or as a manual revocation's reason): markup, script URLs, bidi and
// zero-width tricks, emoji, a lone surrogate, mention and link syntax of chat tools, header-splitting CR/LF.
// Each sets window.__xss (or pings someone) if any sink treats it as anything but text.

export const HOSTILE = {
  img: '<img src=x onerror="window.__xss=1">',
  script: '"><script>window.__xss=2</script>',
  jsUrl: 'javascript:window.__xss=3',
  svg: "<svg onload=window.__xss=4>'",
  rtl: 'k-\u202Egnp.exe',
  zeroWidth: 'k\u200B-\u200Dzw\uFEFF',
  emoji: 'k-🔥💸',
  loneSurrogate: 'k-\uD800-lone',
  mention: '<!channel> @channel @here <@U123> @all',
  link: '<http://evil.example|click> [click](http://evil.example) ![x](http://evil.example/p.png)',
  crlf: 'k\r\nX-Injected: 1\r\n\r\n<b>body</b>',
} as const;
