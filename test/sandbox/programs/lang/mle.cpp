#include <vector>
int main() { std::vector<char> v(256u << 20, 1); return v[12345] - 1; }
