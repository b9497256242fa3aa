# The roost binary for docker-compose.yml: built with the Swift toolchain, run on a slim Debian.
FROM swift:6.3-bookworm AS build
WORKDIR /roost
COPY Package.swift ./
COPY Sources Sources
COPY Tests Tests
RUN swift build -c release --product roost --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/roost" /usr/local/bin/roost

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home roost
COPY --from=build /usr/local/bin/roost /usr/local/bin/roost
COPY cluster-config /etc/roost
USER roost
ENTRYPOINT ["roost"]
CMD ["runner", "--config", "/etc/roost/runner-1.yaml"]
