/* sieve (benchmark): sieve of Eratosthenes over a 20,000,000-byte array,
 * 3 passes. The array is in .bss, so the loader must zero-fill 20 MB. */
#include <stdio.h>
#include <string.h>

#define N 20000000

static unsigned char composite[N];

static long sieve(void)
{
    long count = 0;
    memset(composite, 0, sizeof composite);
    for (long i = 2; i < N; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = i * i; j < N; j += i)
            composite[j] = 1;
    }
    return count;
}

int main(void)
{
    for (int pass = 1; pass <= 3; pass++)
        printf("pass %d: %ld primes below %d\n", pass, sieve(), N);
    return 0;
}
